;; The bench's io sweep target: an exported memory of 1025 pages (64 MiB and one page),
;; room for the sweep's largest transfer.
(module
  (memory (export "memory") 1025))
