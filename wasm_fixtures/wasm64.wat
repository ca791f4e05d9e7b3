;; memory64 module: 64-bit addressed memory, a bump allocator and a factorial.
(module
  (memory (export "memory") i64 2)
  (data (i64.const 66) "Hello, World!")

  ;; Next free address; always a multiple of 8.
  (global $heap (mut i64) (i64.const 1024))

  (func (export "noop"))

  (func $fac (export "fac") (param $n f64) (result f64)
    (if (result f64) (f64.le (local.get $n) (f64.const 1))
      (then (f64.const 1))
      (else
        (f64.mul
          (local.get $n)
          (call $fac (f64.sub (local.get $n) (f64.const 1)))))))

  ;; malloc(size) -> address, or 0 when size is 0 or memory cannot grow.
  (func (export "malloc") (param $size i64) (result i64)
    (local $ptr i64)
    (local $end i64)
    (local $have i64)
    (local $need i64)
    (if (i64.eqz (local.get $size)) (then (return (i64.const 0))))
    (local.set $ptr (global.get $heap))
    ;; round the size up to a multiple of 8; reject wrap-around
    (local.set $end
      (i64.add (local.get $ptr)
               (i64.and (i64.add (local.get $size) (i64.const 7))
                        (i64.const -8))))
    (if (i64.le_u (local.get $end) (local.get $ptr))
      (then (return (i64.const 0))))
    (local.set $have (i64.shl (memory.size) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $have))
      (then
        ;; pages needed = ceil((end - have) / 65536)
        (local.set $need
          (i64.shr_u
            (i64.add (i64.sub (local.get $end) (local.get $have))
                     (i64.const 65535))
            (i64.const 16)))
        (if (i64.eq (memory.grow (local.get $need)) (i64.const -1))
          (then (return (i64.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  (func (export "free") (param $ptr i64)))
