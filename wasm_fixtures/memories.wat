;; Eight linear memories of one page each; grow_each(n) grows every one of them by
;; n pages and returns how many grew; total_pages sums their sizes.
(module
  (memory $m0 (export "memory") 1)
  (memory $m1 1) (memory $m2 1) (memory $m3 1)
  (memory $m4 1) (memory $m5 1) (memory $m6 1) (memory $m7 1)
  (func $ok (param $r i32) (result i32) (i32.ne (local.get $r) (i32.const -1)))
  (func (export "grow_each") (param $n i32) (result i32)
    (i32.add
      (i32.add
        (i32.add (call $ok (memory.grow $m0 (local.get $n))) (call $ok (memory.grow $m1 (local.get $n))))
        (i32.add (call $ok (memory.grow $m2 (local.get $n))) (call $ok (memory.grow $m3 (local.get $n)))))
      (i32.add
        (i32.add (call $ok (memory.grow $m4 (local.get $n))) (call $ok (memory.grow $m5 (local.get $n))))
        (i32.add (call $ok (memory.grow $m6 (local.get $n))) (call $ok (memory.grow $m7 (local.get $n)))))))
  (func (export "total_pages") (result i32)
    (i32.add
      (i32.add
        (i32.add (memory.size $m0) (memory.size $m1))
        (i32.add (memory.size $m2) (memory.size $m3)))
      (i32.add
        (i32.add (memory.size $m4) (memory.size $m5))
        (i32.add (memory.size $m6) (memory.size $m7))))))
