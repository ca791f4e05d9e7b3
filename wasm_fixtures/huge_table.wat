;; A table of two billion elements (16 GB of pointers) and an empty start function:
;; memory_bytes must refuse it before anything runs.
(module
  (memory (export "memory") 1)
  (table 2000000000 funcref)
  (func $start)
  (start $start)
  (func (export "noop")))
