;; One page of exported memory (no maximum), "Hello, World!" at offset 66,
;; a single no-op export and no imports.
(module
  (memory (export "memory") 1)
  (data (i32.const 66) "Hello, World!")
  (func (export "noop")))
