;; A memory64 WASI command with the 64-bit (emscripten wasm64) signatures: pointers
;; and sizes are i64, iovecs are {u64 buf, u64 len}, sizes written back are 8 bytes,
;; prestat's name length is at offset 8. Each write passes two iovecs, an empty one
;; and then the text: the second is only found at a stride of 16 bytes (wasmtime's
;; fd_write, and so ours, writes the first non-empty iovec of a call).
;;
;; _start prints a greeting, each argument and each environment variable on a line
;; of stdout, copies up to 64 bytes of stdin to stderr,
;; prints "clock ok", "random ok", "yield ok" and the first preopen's name, and
;; exits with status 3. A failed call prints "<label> errno N" on stderr and exits 1.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i64 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i64 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "random_get"
    (func $random_get (param i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield"
    (func $sched_yield (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))

  ;; layout: 0 argc, 8 argv_buf_size, 16 envc, 24 env_buf_size, 64 argv[8],
  ;; 128 argv_buf, 384 environ[8], 448 environ_buf, 1024 two iovecs (32 bytes),
  ;; 1096 nwritten, 1104 nread, 1112 time, 1120 "\n", 1200 random, 1296 prestat,
  ;; 1320 preopen name, 1400 messages, 2048 stdin buffer
  (memory (export "memory") i64 1)
  (data (i64.const 1120) "\n")
  (data (i64.const 1400) "hello from wasm64\n")          ;; 18 bytes
  (data (i64.const 1420) "clock ok\n")                   ;; 9
  (data (i64.const 1430) "random ok\n")                  ;; 10
  (data (i64.const 1440) "yield ok\n")                   ;; 9
  (data (i64.const 1450) " errno ")                      ;; 7
  (data (i64.const 1460) "preopen ")                     ;; 8
  (data (i64.const 1470) "write")
  (data (i64.const 1476) "args")
  (data (i64.const 1481) "environ")
  (data (i64.const 1489) "read")
  (data (i64.const 1494) "clock")
  (data (i64.const 1500) "random")
  (data (i64.const 1507) "prestat")

  ;; write(fd, ptr, len) as iovecs {1120, 0}, {ptr, len}; then "\n" when $nl
  (func $write2 (param $fd i32) (param $ptr i64) (param $len i64) (param $nl i32)
    (i64.store (i64.const 1024) (i64.const 1120))
    (i64.store (i64.const 1032) (i64.const 0))
    (i64.store (i64.const 1040) (local.get $ptr))
    (i64.store (i64.const 1048) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i64.const 1024) (i64.const 2) (i64.const 1096)))
    (if (local.get $nl)
      (then
        (i64.store (i64.const 1048) (i64.const 1))
        (i64.store (i64.const 1040) (i64.const 1120))
        (drop (call $fd_write (local.get $fd) (i64.const 1024) (i64.const 2) (i64.const 1096))))))

  (func $strlen (param $p i64) (result i64)
    (local $n i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i64.add (local.get $p) (local.get $n)))))
        (local.set $n (i64.add (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $n))

  ;; on a nonzero errno: "<label> errno <digit(s)>" on stderr, exit 1
  (func $check (param $errno i32) (param $label i64) (param $label_len i64)
    (if (local.get $errno)
      (then
        (call $write2 (i32.const 2) (local.get $label) (local.get $label_len) (i32.const 0))
        (call $write2 (i32.const 2) (i64.const 1450) (i64.const 7) (i32.const 0))
        (i32.store8 (i64.const 1530) (i32.add (i32.const 48) (i32.div_u (local.get $errno) (i32.const 10))))
        (i32.store8 (i64.const 1531) (i32.add (i32.const 48) (i32.rem_u (local.get $errno) (i32.const 10))))
        (call $write2 (i32.const 2) (i64.const 1530) (i64.const 2) (i32.const 1))
        (call $proc_exit (i32.const 1)))))

  ;; print `count` NUL-terminated strings whose pointers are at `array`
  (func $print_strings (param $array i64) (param $count i64)
    (local $i i64) (local $s i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $count)))
        (local.set $s (i64.load (i64.add (local.get $array) (i64.mul (local.get $i) (i64.const 8)))))
        (call $write2 (i32.const 1) (local.get $s) (call $strlen (local.get $s)) (i32.const 1))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next))))

  (func (export "_start")
    ;; a greeting through one iovec; nwritten is 8 bytes
    (i64.store (i64.const 1024) (i64.const 1400))
    (i64.store (i64.const 1032) (i64.const 18))
    (i64.store (i64.const 1096) (i64.const -1))
    (call $check (call $fd_write (i32.const 1) (i64.const 1024) (i64.const 1) (i64.const 1096))
      (i64.const 1470) (i64.const 5))
    (if (i64.ne (i64.load (i64.const 1096)) (i64.const 18)) (then (call $proc_exit (i32.const 2))))
    ;; arguments and environment
    (call $check (call $args_sizes_get (i64.const 0) (i64.const 8)) (i64.const 1476) (i64.const 4))
    (call $check (call $args_get (i64.const 64) (i64.const 128)) (i64.const 1476) (i64.const 4))
    (call $print_strings (i64.const 64) (i64.load (i64.const 0)))
    (call $check (call $environ_sizes_get (i64.const 16) (i64.const 24)) (i64.const 1481) (i64.const 7))
    (call $check (call $environ_get (i64.const 384) (i64.const 448)) (i64.const 1481) (i64.const 7))
    (call $print_strings (i64.const 384) (i64.load (i64.const 16)))
    ;; stdin to stderr
    (i64.store (i64.const 1024) (i64.const 2048))
    (i64.store (i64.const 1032) (i64.const 64))
    (call $check (call $fd_read (i32.const 0) (i64.const 1024) (i64.const 1) (i64.const 1104))
      (i64.const 1489) (i64.const 4))
    (call $write2 (i32.const 2) (i64.const 2048) (i64.load (i64.const 1104)) (i32.const 0))
    ;; realtime clock: after 2020 (1.5e18 ns)
    (call $check (call $clock_time_get (i32.const 0) (i64.const 1) (i64.const 1112))
      (i64.const 1494) (i64.const 5))
    (if (i64.gt_u (i64.load (i64.const 1112)) (i64.const 1500000000000000000))
      (then (call $write2 (i32.const 1) (i64.const 1420) (i64.const 9) (i32.const 0))))
    (call $check (call $random_get (i64.const 1200) (i64.const 16)) (i64.const 1500) (i64.const 6))
    (call $write2 (i32.const 1) (i64.const 1430) (i64.const 10) (i32.const 0))
    (if (i32.eqz (call $sched_yield))
      (then (call $write2 (i32.const 1) (i64.const 1440) (i64.const 9) (i32.const 0))))
    ;; the first preopen: tag 0 at 1296, name length (8 bytes) at 1304
    (if (i32.eqz (call $fd_prestat_get (i32.const 3) (i64.const 1296)))
      (then
        (call $check
          (call $fd_prestat_dir_name (i32.const 3) (i64.const 1320) (i64.load (i64.const 1304)))
          (i64.const 1507) (i64.const 7))
        (call $write2 (i32.const 1) (i64.const 1460) (i64.const 8) (i32.const 0))
        (call $write2 (i32.const 1) (i64.const 1320) (i64.load (i64.const 1304)) (i32.const 1))))
    (call $proc_exit (i32.const 3))))
