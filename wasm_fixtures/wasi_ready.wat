;; A WASI command that writes "hello\n" to stdout, then calls env.ready, then loops
;; forever: the output must reach the parent while the call is still running.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "ready" (func $ready))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))   ;; iovec: buf
    (i32.store (i32.const 4) (i32.const 6))    ;; iovec: len
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $ready)
    (loop $forever (br $forever))))
