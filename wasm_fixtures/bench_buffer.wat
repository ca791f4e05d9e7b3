;; The bench's write-call-read workload: a memory of 300 pages (18.75 MiB) and
;; invert(ptr, len), which flips every bit of len bytes at ptr in place (8 at a time;
;; len a multiple of 8).
(module
  (memory (export "memory") 300)
  (func (export "invert") (param $ptr i32) (param $len i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (i64.store (local.get $ptr) (i64.xor (i64.load (local.get $ptr)) (i64.const -1)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 8)))
        (br $next))))
  (func (export "noop")))
