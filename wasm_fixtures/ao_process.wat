;; An AO-process-shaped module, built as HyperBEAM's AOS modules are: memory64, the
;; legacy exception-handling opcodes (translated on load), and WASI with 64-bit
;; pointers. handle(msg, env) -> a pointer to a NUL-terminated reply, as
;; dev_json_iface calls it: msg and env were written with write_string (malloc).
;;
;; Its state lives in linear memory (so a snapshot carries it): the number of
;; messages handled, at 1024. The reply is "count=N len=L" (L: the message's
;; length), or "caught=7" for a message starting with "!": handle throws, and its
;; own try/catch catches. Each message is also written to stdout with fd_write
;; (one iovec of {u64 buf, u64 len}). "clock" returns clock_time_get's errno.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i64 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i64) (result i32)))
  (tag $boom (param i64))
  (memory (export "memory") i64 2)
  (global $heap (mut i64) (i64.const 8192))

  (func $malloc (export "malloc") (param $size i64) (result i64)
    (local $at i64)
    (local.set $at (global.get $heap))
    (global.set $heap
      (i64.add (local.get $at)
        (i64.and (i64.add (local.get $size) (i64.const 15)) (i64.const -16))))
    (if (i64.gt_u (global.get $heap) (i64.mul (memory.size) (i64.const 65536)))
      (then
        (if (i64.eq
              (memory.grow (i64.add (i64.shr_u (global.get $heap) (i64.const 16)) (i64.const 1)))
              (i64.const -1))
          (then (return (i64.const 0))))))
    (local.get $at))

  (func $strlen (param $p i64) (result i64)
    (local $n i64)
    (block $done
      (loop $next
        (br_if $done (i64.eqz (i64.load8_u (i64.add (local.get $p) (local.get $n)))))
        (local.set $n (i64.add (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $n))

  ;; writes the decimal digits of $v at $out; returns the address after them
  (func $digits (param $out i64) (param $v i64) (result i64)
    (local $tmp i64) (local $len i64) (local $i i64)
    (local.set $tmp (local.get $v))
    (loop $count
      (local.set $len (i64.add (local.get $len) (i64.const 1)))
      (local.set $tmp (i64.div_u (local.get $tmp) (i64.const 10)))
      (br_if $count (i64.ne (local.get $tmp) (i64.const 0))))
    (local.set $i (local.get $len))
    (loop $write
      (local.set $i (i64.sub (local.get $i) (i64.const 1)))
      (i64.store8 (i64.add (local.get $out) (local.get $i))
        (i64.add (i64.const 48) (i64.rem_u (local.get $v) (i64.const 10))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $write (i64.ne (local.get $i) (i64.const 0))))
    (i64.add (local.get $out) (local.get $len)))

  (func $text (param $out i64) (param $word i64) (param $n i32) (result i64)
    ;; copies $n bytes of the 8-byte little-endian $word to $out
    (local $i i32)
    (loop $copy
      (i64.store8 (i64.add (local.get $out) (i64.extend_i32_u (local.get $i)))
        (i64.shr_u (local.get $word) (i64.extend_i32_u (i32.mul (local.get $i) (i32.const 8)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (local.get $n))))
    (i64.add (local.get $out) (i64.extend_i32_u (local.get $n))))

  (func (export "handle") (param $msg i64) (param $env i64) (result i64)
    (local $len i64) (local $reply i64) (local $at i64) (local $caught i64)
    (local.set $len (call $strlen (local.get $msg)))
    ;; write the message to stdout: iovec at 512
    (i64.store (i64.const 512) (local.get $msg))
    (i64.store (i64.const 520) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i64.const 512) (i64.const 1) (i64.const 528)))
    (local.set $reply (call $malloc (i64.const 64)))
    ;; a message starting with "!" throws; the try below catches it
    try (result i64)
      (if (i64.eq (i64.load8_u (local.get $msg)) (i64.const 33))
        (then (throw $boom (i64.const 7))))
      i64.const -1
    catch $boom  ;; the thrown value is on the stack
    end
    local.set $caught
    (if (i64.ne (local.get $caught) (i64.const -1))
      (then
        ;; "caught=" then the thrown value
        (local.set $at (call $text (local.get $reply) (i64.const 0x3d746867756163) (i32.const 7)))
        (local.set $at (call $digits (local.get $at) (local.get $caught)))
        (i64.store8 (local.get $at) (i64.const 0))
        (return (local.get $reply))))
    (i64.store (i64.const 1024) (i64.add (i64.load (i64.const 1024)) (i64.const 1)))
    ;; "count=" N " len=" L
    (local.set $at (call $text (local.get $reply) (i64.const 0x3d746e756f63) (i32.const 6)))
    (local.set $at (call $digits (local.get $at) (i64.load (i64.const 1024))))
    (local.set $at (call $text (local.get $at) (i64.const 0x3d6e656c20) (i32.const 5)))
    (local.set $at (call $digits (local.get $at) (local.get $len)))
    (i64.store8 (local.get $at) (i64.const 0))
    (local.get $reply))

  (func (export "clock") (result i32)
    (call $clock_time_get (i32.const 1) (i64.const 1) (i64.const 600))))
