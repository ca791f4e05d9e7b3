;; Table growth: from the start function (250 million elements: 2 GB of pointers),
;; and from a call.
(module
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (global $grown (mut i32) (i32.const 0))
  (func $start
    (global.set $grown (table.grow $t (ref.null func) (i32.const 250000000))))
  (start $start)
  (func (export "grown_at_start") (result i32) (global.get $grown))
  (func (export "grow_table") (param $n i32) (result i32)
    (table.grow $t (ref.null func) (local.get $n)))
  (func (export "table_size") (result i32) (table.size $t)))
