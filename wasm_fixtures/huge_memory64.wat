;; memory64 with a minimum of 2^24 pages (1 TiB).
(module
  (memory (export "memory") i64 16777216)
  (func $start)
  (start $start)
  (func (export "noop")))
