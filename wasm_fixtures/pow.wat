;; pow(base, exp) computed by calling the host-provided my_lib.mul once per
;; unit of the exponent, so pow(2, 5) performs exactly five host calls.
(module
  (import "my_lib" "mul" (func $mul (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "pow") (param $base i32) (param $exp i32) (result i32)
    (local $acc i32)
    (local.set $acc (i32.const 1))
    (block $done
      (loop $again
        (br_if $done (i32.le_s (local.get $exp) (i32.const 0)))
        (local.set $acc (call $mul (local.get $acc) (local.get $base)))
        (local.set $exp (i32.sub (local.get $exp) (i32.const 1)))
        (br $again)))
    (local.get $acc)))
