;; A wasm32 memory that may grow to the whole 4 GiB.
(module
  (memory (export "memory") 1 65536)
  (func (export "grow") (param $pages i32) (result i32) (memory.grow (local.get $pages))))
