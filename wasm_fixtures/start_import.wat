;; A start function that works a little (a thousand iterations), then asks the host:
;; env.started(7); the answer is kept in a global, read back with `result`.
(module
  (import "env" "started" (func $started (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $answer (mut i32) (i32.const -1))
  (func $start (local $i i32)
    (loop $work
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.lt_u (local.get $i) (i32.const 1000))))
    (global.set $answer (call $started (i32.const 7))))
  (start $start)
  (func (export "result") (result i32) (global.get $answer)))
