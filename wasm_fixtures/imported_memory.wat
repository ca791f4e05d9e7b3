;; Imports a memory of 300 pages (18.75 MiB) minimum.
(module
  (import "env" "mem" (memory 300))
  (func (export "noop")))
