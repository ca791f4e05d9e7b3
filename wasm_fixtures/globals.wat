;; Exported globals of every kind: mutable numbers (read back by functions), an
;; immutable one, and ones that cannot cross to Python (v128, funcref).
(module
  (global $g_i32 (export "g_i32") (mut i32) (i32.const -5))
  (global $g_i64 (export "g_i64") (mut i64) (i64.const -9000000000))
  (global $g_f32 (export "g_f32") (mut f32) (f32.const 0.5))
  (global $g_f64 (export "g_f64") (mut f64) (f64.const 2.25))
  (global (export "const_i32") i32 (i32.const 42))
  (global (export "g_v128") (mut v128) (v128.const i64x2 1 2))
  (global (export "g_ref") (mut funcref) (ref.null func))
  (func (export "read_i32") (result i32) (global.get $g_i32))
  (func (export "read_i64") (result i64) (global.get $g_i64))
  (func (export "read_f32") (result f32) (global.get $g_f32))
  (func (export "read_f64") (result f64) (global.get $g_f64))
  (func (export "bump") (global.set $g_i32 (i32.add (global.get $g_i32) (i32.const 1)))))
