;; Writes "hi\n" to stdout through WASI fd_write.
;; Memory layout: iovec {buf=16, len=3} at 0, bytes written at 8, text at 16.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\n")
  (func (export "hello") (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (call $fd_write
      (i32.const 1)   ;; fd: stdout
      (i32.const 0)   ;; iovec array
      (i32.const 1)   ;; iovec count
      (i32.const 8)))) ;; where to store the number of bytes written
