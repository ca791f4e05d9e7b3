;; A module whose memory starts at 193 pages (about 12 MiB).
(module
  (memory (export "memory") 193)
  (func (export "noop")))
