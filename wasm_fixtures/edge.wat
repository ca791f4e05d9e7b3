;; Edge cases for the runtime: traps, endless loops, memory growth,
;; every value type, multi-value, exported global/table and a malloc that
;; always fails.
(module
  (memory (export "memory") 1 64)
  (global (export "counter") (mut i32) (i32.const 0))
  (table (export "tbl") 1 funcref)

  (func (export "noop"))

  (func (export "unreachable")
    unreachable)

  (func (export "div") (param $a i32) (param $b i32) (result i32)
    (i32.div_s (local.get $a) (local.get $b)))

  (func (export "spin")
    (loop $forever
      (br $forever)))

  (func (export "spin_counting") (param $n i32)
    (loop $forever
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (i32.store (i32.const 0) (local.get $n))
      (br $forever)))

  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))

  (func (export "load") (param $addr i32) (result i32)
    (i32.load (local.get $addr)))

  (func $recurse (export "recurse") (param $n i32) (result i32)
    (i32.add
      (call $recurse (i32.add (local.get $n) (i32.const 1)))
      (i32.const 1)))

  (func (export "id_i32") (param i32) (result i32) (local.get 0))
  (func (export "id_i64") (param i64) (result i64) (local.get 0))
  (func (export "id_f32") (param f32) (result f32) (local.get 0))
  (func (export "id_f64") (param f64) (result f64) (local.get 0))

  (func (export "multi") (param $a i32) (param $b i64) (result i64 i32)
    (local.get $b)
    (local.get $a))

  (func (export "add64") (param i64 i64) (result i64)
    (i64.add (local.get 0) (local.get 1)))

  (func (export "malloc") (param $size i32) (result i32)
    (i32.const 0))

  (func (export "free") (param $ptr i32)))
