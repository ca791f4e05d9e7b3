;; malloc hands out a block at the very end of memory, too small for anything
;; longer than 1 byte: write_string's write then fails and it must free the block.
;; free records the pointers it was given at offset 0 (count) and 4.. (pointers).
(module
  (memory (export "memory") 1 1)
  (func (export "malloc") (param $size i32) (result i32)
    i32.const 65535)
  (func (export "free") (param $ptr i32)
    (local $n i32)
    (local.set $n (i32.load (i32.const 0)))
    (i32.store
      (i32.add (i32.const 4) (i32.mul (local.get $n) (i32.const 4)))
      (local.get $ptr))
    (i32.store (i32.const 0) (i32.add (local.get $n) (i32.const 1)))))
