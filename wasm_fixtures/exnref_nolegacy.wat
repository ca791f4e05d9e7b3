;; No legacy opcodes for the exnref translator (workers/exnref): throw and
;; try_table are already standard, so translate() returns its input unchanged.
(module
  (tag $e1 (param i32))
  (func (export "f") (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e1 $h)
        (if (local.get $x) (then (throw $e1 (local.get $x)))))
      (i32.const 0))))
