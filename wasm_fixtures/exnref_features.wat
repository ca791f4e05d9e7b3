;; Legacy exception handling mixed with other proposals whose immediates the
;; exnref translator (workers/exnref) must skip and whose labels it must remap:
;; memory64, multi-memory, SIMD, typed function references (br_on_null,
;; call_ref), GC (br_on_cast, a rec group), tail calls, atomics, bulk memory.
;; exnref_features.binaryen.wasm is binaryen's --translate-to-exnref of it.
(module
  (import "env" "log" (func $log (param i32)))
  (type $fi (func (param i32) (result i32)))
  (type $s (struct (field i32)))
  ;; one entry of the type section, two type indices
  (rec (type $r1 (struct (field i64))) (type $r2 (func (param i64) (result i64))))
  (memory $m0 i64 1)
  (memory $m1 1)
  (tag $e (param i64))
  (tag $v (param v128))
  (func $inc (type $fi) local.get 0 i32.const 1 i32.add)
  (func $boom (type $fi) local.get 0 i64.extend_i32_u throw $e)
  (elem declare func $inc $boom)

  (func (export "mem64") (param $x i32) (result i32)
    try (result i32)
      (i64.store $m0 offset=8 (i64.const 16) (i64.extend_i32_u (local.get $x)))
      (i32.store $m1 offset=4 (i32.const 0) (i32.mul (local.get $x) (i32.const 3)))
      (if (i32.eq (local.get $x) (i32.const 6))
        (then (drop (i64.load $m0 offset=4294967300 (i64.const 0)))))
      (memory.fill $m1 (i32.const 100) (local.get $x) (i32.const 8))
      (memory.copy $m1 $m1 (i32.const 200) (i32.const 100) (i32.const 8))
      (memory.copy $m0 $m0 (i64.const 200) (i64.const 16) (i64.const 8))
      (i64.atomic.load $m0 offset=8 (i64.const 16))
      (atomic.fence)
      (i64.load8_u $m0 offset=200 (i64.const 0))
      i64.add
      throw $e
    catch $e
      i64.const 1
      i64.add
      i32.wrap_i64
      (i32.load $m1 offset=4 (i32.const 0))
      i32.add
      (i32.wrap_i64 (memory.size $m0))
      i32.add
    end)

  (func (export "simd") (param $x i32) (result i32)
    (local $t v128)
    try (result i32)
      (i32x4.add (i32x4.splat (local.get $x)) (v128.const i32x4 1 2 3 4))
      (i8x16.shuffle 12 13 14 15 8 9 10 11 4 5 6 7 0 1 2 3
        (v128.const i64x2 0 0) (v128.const i32x4 5 6 7 8))
      (i32.const 42)
      i32x4.replace_lane 1
      v128.or
      local.set $t
      (v128.store $m1 offset=16 (i32.const 0) (local.get $t))
      (v128.load32_lane $m1 offset=4 1 (i32.const 0) (v128.load $m1 offset=16 (i32.const 0)))
      (i32x4.relaxed_trunc_f32x4_s (f32x4.splat (f32.const 1.5)))
      i32x4.add
      (if (i32.and (local.get $x) (i32.const 1))
        (then (throw $v (v128.const i32x4 7 7 7 7))))
      throw $v
    catch $v
      (i32x4.extract_lane 0 (i32x4.dot_i16x8_s (v128.const i16x8 1 1 1 1 1 1 1 1) (i16x8.splat (i32.const 2))))
      drop
      i32x4.extract_lane 3
    end)

  (func (export "funcref") (param $x i32) (result i32)
    (local $f (ref null $fi))
    try $t (result i32)
      (local.set $f
        (select (result (ref null $fi))
          (ref.func $boom) (ref.func $inc)
          (i32.and (local.get $x) (i32.const 1))))
      (if (i32.eq (local.get $x) (i32.const 4))
        (then (local.set $f (ref.null $fi))))
      block $isnull
        (br_on_null $isnull (local.get $f))
        drop
        (call_ref $fi (local.get $x) (local.get $f))
        br $t
      end
      i32.const -1
    catch $e
      i32.wrap_i64
      i32.const 1000
      i32.add
    end)

  (func (export "gc") (param $x i32) (result i32)
    try $t (result i32)
      block $cast (result (ref $s))
        (br_on_cast $cast anyref (ref $s)
          (select (result anyref)
            (struct.new $s (local.get $x)) (ref.i31 (local.get $x))
            (i32.and (local.get $x) (i32.const 2))))
        drop
        (throw $e (i64.extend_i32_u (local.get $x)))
      end
      struct.get $s 0
      i32.const 10
      i32.mul
    catch_all
      i32.const 7
    end)

  (func (export "tail") (param $x i32) (result i32)
    try (result i32)
      local.get $x
      local.get $x
      i32.const 1
      i32.and
      if (param i32) (result i32)
        return_call $boom
      else
        i32.const 0
        return_call_indirect (type $fi)
      end
    catch_all
      i32.const 99
    end)

  ;; the rethrow needs a new [] -> [i64 exnref] block type, appended to a type
  ;; section whose entry count (rec groups) is not its number of types
  (func (export "rec_types") (param $x i32) (result i32)
    try (result i32)
      (throw $e (i64.extend_i32_u (local.get $x)))
    catch $e
      (if (i32.eq (local.get $x) (i32.const 3)) (then (rethrow 1)))
      i32.wrap_i64
    end)

  (table 1 funcref)
  (elem (table 0) (i32.const 0) func $inc)
)
