;; Calls back into host functions of every value type, including a
;; multi-value result and a function without results.  env.unused is
;; imported but never called.
(module
  (import "env" "i32_to_i32" (func $i32_to_i32 (param i32) (result i32)))
  (import "env" "f32_to_f32" (func $f32_to_f32 (param f32) (result f32)))
  (import "env" "i64_to_i64" (func $i64_to_i64 (param i64) (result i64)))
  (import "env" "f64_to_f64" (func $f64_to_f64 (param f64) (result f64)))
  (import "env" "pair" (func $pair (param i32) (result i32 i32)))
  (import "env" "void_fn" (func $void_fn (param i32)))
  (import "env" "unused" (func $unused))
  (memory (export "memory") 1)

  (func (export "call_i32") (param i32) (result i32)
    (call $i32_to_i32 (local.get 0)))
  (func (export "call_f32") (param f32) (result f32)
    (call $f32_to_f32 (local.get 0)))
  (func (export "call_i64") (param i64) (result i64)
    (call $i64_to_i64 (local.get 0)))
  (func (export "call_f64") (param f64) (result f64)
    (call $f64_to_f64 (local.get 0)))
  (func (export "call_pair") (param i32) (result i32)
    (i32.add (call $pair (local.get 0))))
  (func (export "call_void") (param i32)
    (call $void_fn (local.get 0)))
  (func (export "call_twice") (param i32) (result i32)
    (call $i32_to_i32 (call $i32_to_i32 (local.get 0)))))
