;; Value types that cannot cross to Python: v128, funcref, externref; and a malloc
;; and free of the wrong signature.
(module
  (import "env" "takes_v128" (func $takes_v128 (param v128)))
  (import "env" "takes_extern" (func $takes_extern (param externref)))
  (memory (export "memory") 1)
  (func $noop (export "noop"))
  (func (export "v128_id") (param v128) (result v128) (local.get 0))
  (func (export "get_ref") (result funcref) (ref.func $noop))
  (func (export "call_v128_import") (call $takes_v128 (v128.const i64x2 1 2)))
  (func (export "answer") (result i32) (i32.const 42))
  ;; an allocator of the wrong shape: io.malloc/io.free must say so
  (func (export "malloc") (param f64) (result f64) (local.get 0))
  (func (export "free") (param f64)))
