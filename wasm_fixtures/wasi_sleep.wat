;; WASI poll_oneoff with one relative clock subscription: sleep(ns) sleeps that long
;; and returns the errno (0); events() is how many events poll_oneoff reported.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sleep") (param $ns i64) (result i32)
    (i64.store (i32.const 0) (i64.const 77))        ;; userdata
    (i32.store8 (i32.const 8) (i32.const 0))        ;; tag: clock
    (i32.store (i32.const 16) (i32.const 1))        ;; clock id: monotonic
    (i64.store (i32.const 24) (local.get $ns))      ;; timeout
    (i64.store (i32.const 32) (i64.const 0))        ;; precision
    (i32.store16 (i32.const 40) (i32.const 0))      ;; flags: relative
    (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
  (func (export "events") (result i32) (i32.load (i32.const 128)))
  (func (export "event_userdata") (result i64) (i64.load (i32.const 64)))
  (func (export "noop")))
