;; Random legacy exception-handling programs for the exnref translator
;; (workers/exnref), written by wasm_fixtures/exnref_build.py with
;; tests/exnref_fuzz.py. Seeds: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 31 32 33 34 35 36 37 38 39 40
(module
  (import "env" "log" (func $log (param i32)))
  (type $p1 (func (param i32) (result i32)))
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i32 i64))
  (global $fuel (mut i32) (i32.const 0))
  (func $p0_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p0_f1 (param $x i32) (result i32) (local $acc i32)
    i32.const 1 call $log
    try
    i32.const 2 try (type $p1)
    local.get $acc i32.add local.set $acc
    block
    local.get $acc i32.const 3 i32.add local.set $acc
    local.get $acc i32.const 4 i32.add local.set $acc
    i32.const 5 call $log
    try
    i32.const 6 try (type $p1)
    local.get $acc i32.add local.set $acc
    try
    i32.const 7 call $log
    i32.const 8 call $log
    delegate 5
    local.get $x i32.const 9 i32.xor call $p0_f2
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 10 i32.xor call $p0_f3
    local.get $acc i32.add local.set $acc
    block
    i32.const 11 call $log
    i32.const 12 call $log
    i32.const 13 i64.const 14 throw $e2
    i32.const 15 call $log
    end
    local.get $acc
    catch_all
    local.get $x i32.const 1 i32.and
    if
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    i32.const 16 i64.const 17 throw $e2
    end
    else
    end
    i32.const 18
    end local.set $acc
    catch $e0
    i32.const 19 call $log
    end
    end
    local.get $acc
    catch_all
    i32.const 20
    end local.set $acc
    delegate 0
    local.get $acc)
  (func $p0_f2 (param $x i32) (result i32) (local $acc i32)
    i32.const 21 call $log
    block
    local.get $x i32.const 22 i32.xor call $p0_f3
    local.get $acc i32.add local.set $acc
    i32.const 23 try (type $p1)
    local.get $acc i32.add local.set $acc
    block (result i32)
    i32.const 24
    end
    local.get $acc i32.add local.set $acc
    block (result i32)
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    i32.const 25 i64.const 26 throw $e2
    end
    local.get $x i32.const 2 i32.and
    if
    throw $e0
    end
    try
    local.get $x i32.const 4 i32.and
    if
    try
    i32.const 27 call $log
    
    local.get $x i32.const 4 i32.and
    i32.eqz
    br_if 2
    i32.const 28 call $log
    i32.const 29 call $log
    catch $e0
    i32.const 30 call $log
    i32.const 31 call $log
    i32.const 32 throw $e1
    catch $e2
    i32.const 33 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 34 call $log
    i32.const 35 call $log
    local.get $acc i32.const 36 i32.add local.set $acc
    catch_all
    i32.const 37 call $log
    i32.const 38 call $log
    end
    else
    block loop
    i32.const 39 call $log
    i32.const 40 call $log
    i32.const 41 call $log
    local.get $acc i32.const 42 i32.add local.set $acc
    local.get $acc i32.const 43 i32.add local.set $acc
    end end
    i32.const 44 call $log
    i32.const 45 call $log
    try (result i32)
    i32.const 46 call $log
    i32.const 47 call $log
    local.get $acc i32.const 48 i32.add local.set $acc
    local.get $acc i32.const 49 i32.add local.set $acc
    i32.const 50
    catch $e2
    i32.const 51 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 52
    end
    local.get $acc i32.add local.set $acc
    end
    block
    i32.const 53 call $log
    i32.const 54 call $log
    end
    local.get $x i32.const 55 i32.xor call $p0_f3
    local.get $acc i32.add local.set $acc
    catch $e0
    i32.const 56 call $log
    end
    i32.const 57
    end
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e0
    i32.const 58
    catch $e1
    local.set $acc
    i32.const 59
    catch_all
    i32.const 60
    end local.set $acc
    end
    local.get $acc)
  (func $p0_f3 (param $x i32) (result i32) (local $acc i32)
    i32.const 61 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e0
    i32.const 62 call $log
    try
    i32.const 63 call $log
    delegate 1
    i32.const 64
    catch $e2
    i32.wrap_i64 i32.add call $log
    try
    local.get $acc br 2
    block (result i32)
    i32.const 66
    end
    local.get $acc i32.add local.set $acc
    catch $e2
    i32.const 67 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 68 throw $e1
    catch $e0
    i32.const 69 call $log
    local.get $x i32.const 2 i32.and
    if
    i32.const 70 throw $e1
    end
    try
    end
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    local.get $acc br 3
    try
    catch $e1
    i32.const 72 call $log
    local.set $acc
    local.get $x i32.const 8 i32.and
    if local.get $acc return end
    block (result i32)
    i32.const 73
    end
    local.get $acc i32.add local.set $acc
    catch_all
    i32.const 74 call $log
    end
    else
    end
    end
    i32.const 75
    end local.set $acc
    local.get $acc)
  (func (export "run0") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p0_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p1_f0 (param $x i32) (result i32) (local $acc i32)
    i32.const 1 call $log
    try
    try (result i32)
    i32.const 2
    catch $e1
    i32.const 3 call $log
    local.set $acc
    try
    i32.const 4 call $log
    i32.const 5 call $log
    delegate 2
    i32.const 6 call $log
    try
    i32.const 7 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e0
    i32.const 8
    catch $e1
    call $log
    i32.const 9
    end local.set $acc
    delegate 2
    i32.const 10
    catch $e0
    i32.const 11 call $log
    i32.const 12
    catch $e2
    i32.const 13 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 14
    catch_all
    i32.const 15 call $log
    i32.const 16
    end
    local.get $acc i32.add local.set $acc
    catch_all
    i32.const 17 call $log
    end
    local.get $acc)
  (func $p1_f1 (param $x i32) (result i32) (local $acc i32)
    block loop
    i32.const 18 call $log
    local.get $acc i32.const 19 i32.add local.set $acc
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 2 2 2 2
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc)
  (func (export "run1") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p1_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p2_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func (export "run2") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p2_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p3_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc
    local.get $x i32.const 1 i32.and
    br_if 0
    drop
    local.get $acc)
  (func $p3_f1 (param $x i32) (result i32) (local $acc i32)
    block (result i32)
    block
    block loop
    i32.const 2 call $log
    local.get $x i32.const 8 i32.and
    if
    i32.const 3 i64.const 4 throw $e2
    end
    end end
    local.get $acc i32.const 5 i32.add local.set $acc
    i32.const 6 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e0
    rethrow 0
    try
    local.get $x i32.const 8 i32.and
    if
    try (result i32)
    rethrow 3
    i32.const 7
    catch $e2
    i32.const 8 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 9 call $log
    local.get $x i32.const 8 i32.and
    if local.get $acc return end
    i32.const 10 call $log
    i32.const 11
    catch $e1
    i32.const 12 call $log
    local.set $acc
    i32.const 13
    catch $e0
    i32.const 14 call $log
    i32.const 15 call $log
    i32.const 16 call $log
    i32.const 17
    end
    local.get $acc i32.add local.set $acc
    else
    local.get $x i32.const 4 i32.and
    if
    i32.const 18 call $log
    i32.const 19 call $log
    i32.const 20 i64.const 21 throw $e2
    local.get $x i32.const 8 i32.and
    if
    i32.const 22 throw $e1
    end
    else
    end
    end
    
    local.get $x i32.const 2 i32.and
    i32.eqz
    br_if 0
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 4 3
    delegate 0
    i32.const 24
    end local.set $acc
    end
    local.get $acc
    local.get $x i32.const 4 i32.and
    br_if 1
    drop
    i32.const 26 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 27 call $log
    i32.const 28 call $log
    local.get $acc
    catch $e0
    block (result i32)
    i32.const 29
    end
    local.get $acc i32.add local.set $acc
    i32.const 30 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 3 3 1
    try (result i32)
    local.get $x i32.const 1 i32.and
    if
    local.get $x i32.const 2 i32.and
    if
    i32.const 32 throw $e1
    end
    i32.const 33 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 34 br 2
    local.get $acc
    catch $e2
    i32.wrap_i64 i32.add call $log
    i32.const 35
    end local.set $acc
    else
    end
    i32.const 36
    catch $e0
    i32.const 37 call $log
    i32.const 38
    end
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e1
    call $log
    i32.const 39
    end local.set $acc
    i32.const 40
    catch $e2
    i32.wrap_i64 i32.add call $log
    i32.const 41
    end local.set $acc
    i32.const 42
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func (export "run3") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p3_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p4_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p4_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $acc i32.const 1 i32.add local.set $acc
    i32.const 2 call $log
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 0 0
    local.get $acc)
  (func (export "run4") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p4_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p5_f0 (param $x i32) (result i32) (local $acc i32)
    i32.const 1 call $log
    i32.const 2 call $log
    try
    delegate 0
    i32.const 3 call $log
    local.get $acc)
  (func $p5_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $acc
    local.get $x i32.const 1 i32.and
    br_if 0
    drop
    local.get $acc)
  (func $p5_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $acc i32.const 5 i32.add local.set $acc
    try (result i32)
    i32.const 6
    catch $e2
    i32.const 7 call $log
    i32.wrap_i64 i32.add call $log
    local.get $acc i32.const 8 i32.add local.set $acc
    i32.const 9
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func (export "run5") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p5_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p6_f0 (param $x i32) (result i32) (local $acc i32)
    i32.const 1 call $log
    local.get $acc i32.const 2 i32.add local.set $acc
    local.get $acc)
  (func (export "run6") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p6_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p7_f0 (param $x i32) (result i32) (local $acc i32)
    block loop
    i32.const 1 call $log
    end end
    i32.const 2 call $log
    block
    i32.const 3 call $log
    end
    local.get $acc)
  (func $p7_f1 (param $x i32) (result i32) (local $acc i32)
    i32.const 4 call $log
    i32.const 5 call $log
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 0 0 0 0
    local.get $acc)
  (func $p7_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func (export "run7") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p7_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p8_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc i32.const 1 i32.add local.set $acc
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    local.get $x i32.const 8 i32.and
    if
    i32.const 2 throw $e1
    end
    i32.const 3 call $log
    local.get $acc i32.const 4 i32.add local.set $acc
    try (result i32)
    try
    local.get $acc
    local.get $x i32.const 4 i32.and
    i32.eqz
    br_if 3
    drop
    try (result i32)
    i32.const 6 call $log
    i32.const 7 call $log
    local.get $x i32.const 2 i32.and
    if
    throw $e0
    end
    i32.const 8
    end
    local.get $acc i32.add local.set $acc
    i32.const 9 call $log
    local.get $x i32.const 2 i32.and
    if
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 4 4 4
    local.get $acc i32.const 11 i32.add local.set $acc
    try (result i32)
    local.get $x i32.const 8 i32.and
    if
    local.get $x i32.const 12 i32.xor call $p8_f1
    local.get $acc i32.add local.set $acc
    else
    local.get $x i32.const 2 i32.and
    if
    throw $e0
    end
    local.get $x i32.const 1 i32.and
    if
    i32.const 13 throw $e1
    end
    i32.const 14 throw $e1
    local.get $acc i32.const 15 i32.add local.set $acc
    end
     local.get $x i32.const 3 i32.rem_u
    br_table 1 1
    i32.const 16
    catch $e1
    i32.const 17 call $log
    local.set $acc
    local.get $x i32.const 18 i32.xor call $p8_f1
    local.get $acc i32.add local.set $acc
    block
    
    local.get $x i32.const 1 i32.and
    br_if 3
    end
    local.get $x i32.const 1 i32.and
    if
    i32.const 19 i64.const 20 throw $e2
    end
    i32.const 21
    catch_all
    i32.const 22 call $log
    i32.const 23
    end
    local.get $acc i32.add local.set $acc
    else
    end
    catch $e2
    i32.const 24 call $log
    i32.wrap_i64 i32.add call $log
    catch_all
    i32.const 25 call $log
    end
    i32.const 26
    catch_all
    i32.const 27 call $log
    i32.const 28
    end
    local.get $acc i32.add local.set $acc
    else
    end
    local.get $acc)
  (func $p8_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $acc i32.const 29 i32.add local.set $acc
    local.get $x i32.const 4 i32.and
    i32.eqz
    if
    i32.const 30 throw $e1
    end
    throw $e0
    try
    local.get $acc i32.const 31 i32.add local.set $acc
    local.get $acc
    local.get $x i32.const 1 i32.and
    i32.eqz
    br_if 1
    drop
    throw $e0
    
    local.get $x i32.const 8 i32.and
    br_if 0
    delegate 0
    local.get $acc)
  (func (export "run8") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p8_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p9_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc i32.const 1 i32.add local.set $acc
    try (result i32)
    i32.const 2 call $log
    block (result i32)
    local.get $x i32.const 8 i32.and
    i32.eqz
    if
    i32.const 3 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc i32.const 4 i32.add local.set $acc
    local.get $x i32.const 1 i32.and
    if
    i32.const 5 throw $e1
    end
    try
    local.get $x i32.const 8 i32.and
    if
    i32.const 6 throw $e1
    end
    try
    throw $e0
    i32.const 7 call $log
    i32.const 8 call $log
    delegate 3
    end
    local.get $acc
    catch $e0
    try
    i32.const 9 call $log
    try (result i32)
    local.get $x i32.const 10 i32.xor call $p9_f1
    local.get $acc i32.add local.set $acc
    i32.const 11
    catch $e2
    i32.const 12 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 13 call $log
    local.get $x i32.const 8 i32.and
    i32.eqz
    if rethrow 1 end
    i32.const 14 call $log
    i32.const 15 call $log
    i32.const 16
    end
    local.get $acc i32.add local.set $acc
    local.get $acc i32.const 17 i32.add local.set $acc
    try
    delegate 0
    catch $e2
    i32.const 18 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 19 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e1
    local.set $acc
    i32.const 20 call $log
    local.get $x i32.const 1 i32.and
    if local.get $acc return end
    i32.const 21
    catch $e0
    i32.const 22
    catch_all
    
    local.get $x i32.const 1 i32.and
    br_if 1
    i32.const 23
    end local.set $acc
    catch $e0
    i32.const 24 call $log
    end
    i32.const 25
    catch_all
    i32.const 26
    end local.set $acc
    else
    end
    i32.const 27
    end
    local.get $acc i32.add local.set $acc
    i32.const 28
    catch $e0
    i32.const 29 call $log
    i32.const 30
    catch $e2
    i32.const 31 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 32
    catch $e1
    i32.const 33 call $log
    call $log
    i32.const 34
    catch_all
    i32.const 35 call $log
    i32.const 36
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p9_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p9_f2 (param $x i32) (result i32) (local $acc i32)
    try
    local.get $x i32.const 37 i32.xor call $p9_f3
    local.get $acc i32.add local.set $acc
    block (result i32)
    i32.const 38 call $log
    i32.const 39
    end
    local.get $acc i32.add local.set $acc
    try
    local.get $acc br 2
    catch $e0
    i32.const 41 call $log
    catch $e2
    i32.const 42 call $log
    i32.wrap_i64 i32.add call $log
    end
    catch $e0
    i32.const 43 call $log
    end
    local.get $acc)
  (func $p9_f3 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func (export "run9") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p9_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p10_f0 (param $x i32) (result i32) (local $acc i32)
    block (result i32)
    try
    i32.const 1 call $log
    catch $e1
    i32.const 2 call $log
    local.set $acc
    i32.const 3 call $log
    try
    i32.const 4
    local.get $x i32.const 4 i32.and
    br_if 2
    drop
    local.get $acc i32.const 5 i32.add local.set $acc
    try
    block (result i32)
    i32.const 6
    end
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 4 i32.and
    if
    throw $e0
    end
    local.get $acc
    local.get $x i32.const 8 i32.and
    i32.eqz
    br_if 4
    drop
    catch $e2
    i32.const 8 call $log
    i32.wrap_i64 i32.add call $log
    local.get $x i32.const 4 i32.and
    if
    i32.const 9 i64.const 10 throw $e2
    end
    i32.const 11 call $log
    try
    delegate 1
    catch $e0
    i32.const 12 call $log
    block (result i32)
    local.get $acc i32.const 13 i32.add local.set $acc
    i32.const 14 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e0
    i32.const 15 call $log
    i32.const 16
    end local.set $acc
    
    local.get $x i32.const 4 i32.and
    i32.eqz
    br_if 3
    local.get $x i32.const 1 i32.and
    i32.eqz
    if local.get $acc return end
    i32.const 17
    end
    local.get $acc i32.add local.set $acc
    
    local.get $x i32.const 8 i32.and
    br_if 1
     br 1
    end
    catch_all
    i32.const 18 call $log
    local.get $x i32.const 8 i32.and
    if
    i32.const 19 throw $e1
    end
    try
    local.get $x i32.const 2 i32.and
    if
    local.get $x i32.const 8 i32.and
    i32.eqz
    if local.get $acc return end
    rethrow 3
    else
    i32.const 20 br 4
    end
    
    local.get $x i32.const 1 i32.and
    br_if 1
     local.get $x i32.const 3 i32.rem_u
    br_table 2 0 0
    delegate 0
    end
    catch $e0
    i32.const 21 call $log
    i32.const 22 call $log
    i32.const 23 call $log
    catch $e2
    i32.const 24 call $log
    i32.wrap_i64 i32.add call $log
    end
    i32.const 25
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func (export "run10") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p10_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p11_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc br 0
    i32.const 2 call $log
    block loop
    i32.const 3 call $log
    i32.const 4 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc)
  (func $p11_f1 (param $x i32) (result i32) (local $acc i32)
    try
    catch $e1
    i32.const 5 call $log
    call $log
    catch $e0
    i32.const 6 call $log
    try
    local.get $x i32.const 7 i32.xor call $p11_f2
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 1 i32.and
    if rethrow 2 end
    throw $e0
    catch $e1
    i32.const 8 call $log
    call $log
    try
     local.get $x i32.const 3 i32.rem_u
    br_table 0 0
    i32.const 9 throw $e1
    catch $e2
    i32.const 10 call $log
    i32.wrap_i64 i32.add call $log
    try (result i32)
    i32.const 11
    catch $e1
    i32.const 12 call $log
    local.set $acc
    i32.const 13
    catch $e0
    i32.const 14 call $log
    local.get $x i32.const 1 i32.and
    if
    i32.const 15 throw $e1
    end
    i32.const 16
    end
    local.get $acc i32.add local.set $acc
    catch $e1
    i32.const 17 call $log
    call $log
    catch $e0
    i32.const 18 call $log
    catch_all
    i32.const 19 call $log
    end
    catch $e0
    i32.const 20 call $log
    end
    catch $e2
    i32.const 21 call $log
    i32.wrap_i64 i32.add call $log
    end
    local.get $acc)
  (func $p11_f2 (param $x i32) (result i32) (local $acc i32)
    block loop
    i32.const 22 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    i32.const 23 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e2
    i32.wrap_i64 i32.add call $log
    i32.const 24
    end local.set $acc
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    throw $e0
    end
    local.get $acc)
  (func $p11_f3 (param $x i32) (result i32) (local $acc i32)
    i32.const 25 throw $e1
    try (result i32)
    i32.const 26
    catch_all
    i32.const 27 call $log
    i32.const 28 call $log
    i32.const 29
    end
    local.get $acc i32.add local.set $acc
    local.get $acc br 0
    local.get $acc)
  (func (export "run11") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p11_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p12_f0 (param $x i32) (result i32) (local $acc i32)
    block loop
    i32.const 1 call $log
    
    local.get $x i32.const 8 i32.and
    br_if 1
    end end
    block
    i32.const 2 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc i32.const 3 i32.add local.set $acc
    try
    delegate 2
    local.get $acc
    catch_all
    i32.const 4
    end local.set $acc
    end
    i32.const 5 call $log
    try
    end
    local.get $acc)
  (func $p12_f1 (param $x i32) (result i32) (local $acc i32)
    i32.const 6 call $log
    local.get $acc)
  (func $p12_f2 (param $x i32) (result i32) (local $acc i32)
    i32.const 7 call $log
    local.get $acc
    local.get $x i32.const 2 i32.and
    br_if 0
    drop
    try
    local.get $acc i32.const 9 i32.add local.set $acc
    try
    block loop
    i32.const 10 call $log
    i32.const 11 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    i32.const 12 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    try (result i32)
    try (result i32)
    i32.const 13 call $log
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    i32.const 14 throw $e1
    end
    i32.const 15
    end
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 8 i32.and
    i32.eqz
    if
    i32.const 16 i64.const 17 throw $e2
    end
    i32.const 18
    end
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 4 i32.and
    i32.eqz
    if
    i32.const 19 throw $e1
    end
    catch $e1
    i32.const 20 call $log
    call $log
    local.get $x i32.const 2 i32.and
    if rethrow 1 end
    block (result i32)
    try
    delegate 2
    i32.const 21
    end
    local.get $acc i32.add local.set $acc
    try
    local.get $acc i32.const 22 i32.add local.set $acc
    try
    block
    rethrow 3
    try
    i32.const 23 call $log
    local.get $x i32.const 8 i32.and
    if
    i32.const 24 throw $e1
    end
    delegate 2
    local.get $x i32.const 8 i32.and
    if
     local.get $x i32.const 3 i32.rem_u
    br_table 2 4 4
    else
    i32.const 25 call $log
    local.get $x i32.const 4 i32.and
    i32.eqz
    if
    throw $e0
    end
    i32.const 26 call $log
    end
    local.get $acc i32.const 27 i32.add local.set $acc
    end
    catch $e1
    i32.const 28 call $log
    call $log
    catch $e0
    i32.const 29 call $log
    catch_all
    i32.const 30 call $log
    end
    delegate 2
    catch $e0
    i32.const 31 call $log
    catch $e2
    i32.const 32 call $log
    i32.wrap_i64 i32.add call $log
    catch_all
    i32.const 33 call $log
    end
    delegate 0
    local.get $acc)
  (func $p12_f3 (param $x i32) (result i32) (local $acc i32)
    try
    i32.const 34 try (type $p1)
    local.get $acc i32.add local.set $acc
    block (result i32)
    try
    delegate 0
    i32.const 35
    end
    local.get $acc i32.add local.set $acc
    try
    throw $e0
    local.get $x i32.const 2 i32.and
    if
    i32.const 36 call $log
    block (result i32)
    local.get $x i32.const 8 i32.and
    if
    else
    end
    i32.const 37
    end
    local.get $acc i32.add local.set $acc
    else
    end
    delegate 1
    local.get $acc
    catch_all
    i32.const 38
    end local.set $acc
    catch $e2
    i32.const 39 call $log
    i32.wrap_i64 i32.add call $log
    catch_all
    i32.const 40 call $log
    end
    local.get $acc)
  (func (export "run12") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p12_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p13_f0 (param $x i32) (result i32) (local $acc i32)
    block loop
    i32.const 1 call $log
    try
    local.get $acc i32.const 2 i32.add local.set $acc
    catch $e2
    i32.const 3 call $log
    i32.wrap_i64 i32.add call $log
    local.get $acc i32.const 4 i32.add local.set $acc
    local.get $x i32.const 1 i32.and
    if
    i32.const 5 call $log
    else
    try
    try (result i32)
    rethrow 3
    i32.const 6
    catch $e2
    i32.const 7 call $log
    i32.wrap_i64 i32.add call $log
    try
    i32.const 8 call $log
    i32.const 9 call $log
    local.get $acc i32.const 10 i32.add local.set $acc
    catch $e2
    i32.const 11 call $log
    i32.wrap_i64 i32.add call $log
    local.get $x i32.const 12 i32.xor call $p13_f2
    local.get $acc i32.add local.set $acc
     br 4
    local.get $acc i32.const 13 i32.add local.set $acc
    local.get $x i32.const 2 i32.and
    if rethrow 1 end
    catch $e0
    i32.const 14 call $log
    i32.const 15 call $log
    catch $e1
    i32.const 16 call $log
    local.set $acc
     local.get $x i32.const 3 i32.rem_u
    br_table 2 6
    local.get $acc i32.const 17 i32.add local.set $acc
    i32.const 18 call $log
    catch_all
    i32.const 19 call $log
    i32.const 20 call $log
    local.get $acc i32.const 21 i32.add local.set $acc
    end
    i32.const 22
    catch $e1
    i32.const 23 call $log
    call $log
    i32.const 24
    catch $e0
    i32.const 25 call $log
    i32.const 26
    catch_all
    i32.const 27 call $log
    i32.const 28
    end
    local.get $acc i32.add local.set $acc
    catch $e2
    i32.const 29 call $log
    i32.wrap_i64 i32.add call $log
    catch $e0
    i32.const 30 call $log
    end
    end
    catch_all
    i32.const 31 call $log
    end
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc)
  (func $p13_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 1 i32.and
    if
    local.get $x i32.const 32 i32.xor call $p13_f2
    local.get $acc i32.add local.set $acc
    local.get $acc i32.const 33 i32.add local.set $acc
    try
    local.get $acc i32.const 34 i32.add local.set $acc
    catch $e2
    i32.const 35 call $log
    i32.wrap_i64 i32.add call $log
    catch $e0
    i32.const 36 call $log
    i32.const 37 call $log
    i32.const 38 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e1
    local.set $acc
    i32.const 39
    end local.set $acc
    catch $e1
    i32.const 40 call $log
    local.set $acc
    end
    else
    end
    local.get $acc)
  (func $p13_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func (export "run13") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p13_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p14_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 1 i32.and
    if
    i32.const 1 throw $e1
    end
    local.get $acc)
  (func (export "run14") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p14_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p15_f0 (param $x i32) (result i32) (local $acc i32)
    try (result i32)
    i32.const 1 call $log
    i32.const 2
    catch $e2
    i32.const 3 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 4 call $log
    i32.const 5
    end
    local.get $acc i32.add local.set $acc
    i32.const 6 call $log
    local.get $x i32.const 7 i32.xor call $p15_f1
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p15_f1 (param $x i32) (result i32) (local $acc i32)
    i32.const 8 throw $e1
    try (result i32)
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 0 1 1
    block (result i32)
    local.get $acc
    local.get $x i32.const 8 i32.and
    br_if 2
    drop
    try (result i32)
    i32.const 11
    catch $e0
    i32.const 12 call $log
    try
    delegate 2
    local.get $x i32.const 2 i32.and
    if local.get $acc return end
    i32.const 13 call $log
    i32.const 14 call $log
    i32.const 15
    end
    local.get $acc i32.add local.set $acc
    i32.const 16 call $log
    i32.const 17 call $log
    i32.const 18
    end
    local.get $acc i32.add local.set $acc
    try
    try
    local.get $acc i32.const 19 i32.add local.set $acc
    delegate 2
     br 0
    local.get $acc i32.const 20 i32.add local.set $acc
    catch $e1
    i32.const 21 call $log
    call $log
    catch $e2
    i32.const 22 call $log
    i32.wrap_i64 i32.add call $log
    rethrow 0
     local.get $x i32.const 3 i32.rem_u
    br_table 0 0 0 0
    catch_all
    i32.const 23 call $log
    end
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 1 0
    i32.const 25
    catch $e1
    i32.const 26 call $log
    call $log
    i32.const 27 throw $e1
    i32.const 28
    catch $e0
    i32.const 29 call $log
    i32.const 30
    catch $e2
    i32.const 31 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 32
    catch_all
    i32.const 33 call $log
    i32.const 34
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func (export "run15") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p15_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p16_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 1 i32.and
    if
    i32.const 1 i64.const 2 throw $e2
    end
    local.get $x i32.const 2 i32.and
    if
    else
    local.get $x i32.const 3 i32.xor call $p16_f2
    local.get $acc i32.add local.set $acc
    block loop
    i32.const 4 call $log
    local.get $x i32.const 5 i32.xor call $p16_f1
    local.get $acc i32.add local.set $acc
    i32.const 6 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 7 call $log
    local.get $acc i32.const 8 i32.add local.set $acc
    local.get $acc
    catch $e2
    i32.wrap_i64 i32.add call $log
    block loop
    i32.const 9 call $log
    i32.const 10 try (type $p1)
    local.get $acc i32.add local.set $acc
    
    local.get $x i32.const 4 i32.and
    br_if 6
    rethrow 3
    local.get $acc
    catch $e2
    i32.wrap_i64 i32.add call $log
    i32.const 11
    catch_all
    i32.const 12
    end local.set $acc
    local.get $x i32.const 2 i32.and
    if local.get $acc return end
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $x i32.const 13 i32.xor call $p16_f2
    local.get $acc i32.add local.set $acc
    i32.const 14 call $log
    local.get $x i32.const 1 i32.and
    if
    i32.const 15 call $log
    try
    catch $e2
    i32.const 16 call $log
    i32.wrap_i64 i32.add call $log
    local.get $x i32.const 8 i32.and
    if
    else
    i32.const 17 call $log
    i32.const 18 call $log
    i32.const 19 call $log
    local.get $x i32.const 1 i32.and
    if rethrow 2 end
    end
    catch $e0
    i32.const 20 call $log
    local.get $acc i32.const 21 i32.add local.set $acc
    i32.const 22 call $log
    block loop
    i32.const 23 call $log
    end end
    i32.const 24 call $log
    catch $e1
    i32.const 25 call $log
    local.set $acc
    local.get $acc i32.const 26 i32.add local.set $acc
    block loop
    i32.const 27 call $log
    local.get $x i32.const 2 i32.and
    if
    throw $e0
    end
    i32.const 28 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    
    local.get $x i32.const 8 i32.and
    br_if 0
    end
    i32.const 29 call $log
    else
    end
    i32.const 30
    catch $e0
     local.get $x i32.const 3 i32.rem_u
    br_table 3 2 2 2
    i32.const 31
    end local.set $acc
    i32.const 32 call $log
    end end
    end
    local.get $acc)
  (func $p16_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p16_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $acc i32.const 33 i32.add local.set $acc
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 0 0 0
    local.get $acc
    local.get $x i32.const 2 i32.and
    br_if 0
    drop
    local.get $acc)
  (func (export "run16") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p16_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p17_f0 (param $x i32) (result i32) (local $acc i32)
    i32.const 1 i64.const 2 throw $e2
    block (result i32)
    i32.const 3
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p17_f1 (param $x i32) (result i32) (local $acc i32)
    try
    try
    local.get $acc i32.const 4 i32.add local.set $acc
    block (result i32)
    local.get $acc i32.const 5 i32.add local.set $acc
    i32.const 6
    end
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 2 i32.and
    if
    else
    end
    catch $e1
    i32.const 7 call $log
    local.set $acc
    local.get $acc i32.const 8 i32.add local.set $acc
    try
    i32.const 9 call $log
     local.get $x i32.const 3 i32.rem_u
    br_table 1 0 1 0
    catch $e2
    i32.const 10 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 11 call $log
    catch $e0
    i32.const 12 call $log
    i32.const 13 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 14 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e0
    try
    i32.const 15 call $log
    local.get $acc i32.const 16 i32.add local.set $acc
    i32.const 17 call $log
    i32.const 18 call $log
    catch $e0
    i32.const 19 call $log
    i32.const 20 call $log
    local.get $x i32.const 4 i32.and
    i32.eqz
    if
    i32.const 21 i64.const 22 throw $e2
    end
    catch $e1
    i32.const 23 call $log
    call $log
    catch_all
    i32.const 24 call $log
    end
    i32.const 25
    end local.set $acc
    local.get $acc
    catch $e1
    local.set $acc
    i32.const 26
    catch_all
    i32.const 27
    end local.set $acc
    end
    catch $e0
    i32.const 28 call $log
    end
    catch $e1
    i32.const 29 call $log
    local.set $acc
    catch_all
    i32.const 30 call $log
    end
    local.get $acc)
  (func $p17_f2 (param $x i32) (result i32) (local $acc i32)
    i32.const 31 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    local.get $x i32.const 32 i32.xor call $p17_f3
    local.get $acc i32.add local.set $acc
    try (result i32)
    i32.const 33 call $log
    try
    i32.const 34 call $log
    block
    i32.const 35 i64.const 36 throw $e2
    end
    local.get $acc i32.const 37 i32.add local.set $acc
    catch $e0
    i32.const 38 call $log
    local.get $x i32.const 8 i32.and
    i32.eqz
    if
    i32.const 39 throw $e1
    end
    try (result i32)
    try
    i32.const 40 call $log
    i32.const 41 call $log
    i32.const 42 call $log
    catch $e0
    i32.const 43 call $log
    catch $e1
    i32.const 44 call $log
    call $log
    catch $e2
    i32.const 45 call $log
    i32.wrap_i64 i32.add call $log
    end
    i32.const 46
    catch $e0
    i32.const 47 call $log
    i32.const 48
    catch_all
    i32.const 49 call $log
    i32.const 50
    end
    local.get $acc i32.add local.set $acc
    catch $e1
    i32.const 51 call $log
    local.set $acc
    end
    i32.const 52
    end
    local.get $acc i32.add local.set $acc
    else
    end
    local.get $acc
    catch $e2
    i32.wrap_i64 i32.add call $log
    i32.const 53
    catch $e0
    i32.const 54
    end local.set $acc
    local.get $acc)
  (func $p17_f3 (param $x i32) (result i32) (local $acc i32)
    block
    i32.const 55 throw $e1
    local.get $acc br 1
    end
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    i32.const 57 throw $e1
    end
    local.get $x i32.const 4 i32.and
    if
    else
    end
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 0 0
    local.get $acc)
  (func (export "run17") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p17_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p18_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 1 i32.xor call $p18_f1
    local.get $acc i32.add local.set $acc
    i32.const 2 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc i32.const 3 i32.add local.set $acc
    throw $e0
    local.get $x i32.const 4 i32.and
    if
    throw $e0
    end
    local.get $acc
    catch_all
    i32.const 4 i64.const 5 throw $e2
    i32.const 6
    end local.set $acc
    i32.const 7 call $log
    local.get $acc)
  (func $p18_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 4 i32.and
    i32.eqz
    if
    i32.const 8 i64.const 9 throw $e2
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 1 1 1 1
    i32.const 11 call $log
    else
    local.get $acc i32.const 12 i32.add local.set $acc
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    local.get $acc i32.const 13 i32.add local.set $acc
    i32.const 14 call $log
    block
    block
    try
    i32.const 15 call $log
    i32.const 16 call $log
    i32.const 17 call $log
    i32.const 18 call $log
    catch $e2
    i32.const 19 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 20 i64.const 21 throw $e2
     local.get $x i32.const 3 i32.rem_u
    br_table 4 0 1 4
    catch_all
    i32.const 22 call $log
    end
    i32.const 23 call $log
    end
    end
    else
    local.get $acc i32.const 24 i32.add local.set $acc
    
    local.get $x i32.const 4 i32.and
    i32.eqz
    br_if 1
    local.get $acc br 2
    end
    local.get $acc i32.const 26 i32.add local.set $acc
    i32.const 27 try (type $p1)
    local.get $acc i32.add local.set $acc
    try
    local.get $acc i32.const 28 i32.add local.set $acc
    local.get $acc i32.const 29 i32.add local.set $acc
    try
    i32.const 30 call $log
    block
    i32.const 31 call $log
    try
    i32.const 32 call $log
    i32.const 33 call $log
    i32.const 34 call $log
    catch $e0
    i32.const 35 call $log
    i32.const 36 call $log
    catch $e2
    i32.const 37 call $log
    i32.wrap_i64 i32.add call $log
    rethrow 0
    catch $e1
    i32.const 38 call $log
    local.set $acc
    end
    end
    catch $e0
    i32.const 39 call $log
    catch_all
    i32.const 40 call $log
    end
    catch $e0
    i32.const 41 call $log
    end
    local.get $acc
    catch $e1
    call $log
    i32.const 42
    catch $e0
    i32.const 43
    end local.set $acc
    end
    local.get $acc)
  (func (export "run18") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p18_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p19_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func (export "run19") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p19_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p20_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p20_f1 (param $x i32) (result i32) (local $acc i32)
    try
    delegate 0
    local.get $acc br 0
    local.get $acc
    local.get $x i32.const 2 i32.and
    br_if 0
    drop
    try
    
    local.get $x i32.const 8 i32.and
    br_if 0
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    throw $e0
    end
    delegate 0
    local.get $acc)
  (func (export "run20") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p20_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p21_f0 (param $x i32) (result i32) (local $acc i32)
    block loop
    i32.const 1 call $log
    try
    try
    local.get $x i32.const 1 i32.and
    i32.eqz
    if local.get $acc return end
    try
    i32.const 2 call $log
    try (result i32)
    local.get $x i32.const 8 i32.and
    if
    i32.const 3 call $log
    i32.const 4 call $log
    local.get $x i32.const 5 i32.xor call $p21_f1
    local.get $acc i32.add local.set $acc
    else
    end
    i32.const 6
    catch $e0
    i32.const 7 call $log
    i32.const 8
    catch $e2
    i32.const 9 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 10
    end
    local.get $acc i32.add local.set $acc
    try (result i32)
    block (result i32)
    local.get $acc i32.const 11 i32.add local.set $acc
    i32.const 12 call $log
    i32.const 13 call $log
    i32.const 14
    end
    local.get $acc i32.add local.set $acc
    i32.const 15
    catch $e0
    i32.const 16 call $log
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    i32.const 17 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 5
    i32.const 18 call $log
    else
    i32.const 19 i64.const 20 throw $e2
    local.get $acc br 7
    i32.const 22 call $log
    end
    i32.const 23
    end
    local.get $acc i32.add local.set $acc
    delegate 0
    local.get $acc i32.const 24 i32.add local.set $acc
    local.get $x i32.const 8 i32.and
    i32.eqz
    if
    else
    block
    block
    i32.const 25 call $log
    i32.const 26 call $log
    i32.const 27 call $log
    i32.const 28 call $log
    end
    end
    end
    catch $e1
    i32.const 29 call $log
    call $log
    catch $e2
    i32.const 30 call $log
    i32.wrap_i64 i32.add call $log
    catch_all
    i32.const 31 call $log
    end
    catch $e2
    i32.const 32 call $log
    i32.wrap_i64 i32.add call $log
    catch_all
    i32.const 33 call $log
    end
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc)
  (func $p21_f1 (param $x i32) (result i32) (local $acc i32)
    i32.const 34 call $log
    local.get $acc
    local.get $x i32.const 2 i32.and
    i32.eqz
    br_if 0
    drop
    i32.const 36 call $log
    try
    i32.const 37 call $log
    i32.const 38 i64.const 39 throw $e2
    local.get $x i32.const 2 i32.and
    if
    i32.const 40 throw $e1
    end
    catch $e0
    i32.const 41 call $log
    i32.const 42 call $log
    local.get $acc i32.const 43 i32.add local.set $acc
    block loop
    i32.const 44 call $log
    i32.const 45 call $log
    throw $e0
    try
    try
    
    local.get $x i32.const 2 i32.and
    br_if 4
    catch_all
    i32.const 46 call $log
    end
    delegate 0
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    end
    local.get $acc)
  (func (export "run21") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p21_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p22_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p22_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 4 i32.and
    if
    else
    local.get $x i32.const 2 i32.and
    if
    i32.const 1 i64.const 2 throw $e2
    end
    end
    local.get $acc)
  (func (export "run22") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p22_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p23_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p23_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $acc br 0
    local.get $acc i32.const 2 i32.add local.set $acc
    local.get $acc
    local.get $x i32.const 1 i32.and
    i32.eqz
    br_if 0
    drop
    local.get $acc)
  (func $p23_f2 (param $x i32) (result i32) (local $acc i32)
    i32.const 4 call $log
    block loop
    i32.const 5 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    i32.const 6 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 0 0 0
    local.get $acc)
  (func (export "run23") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p23_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p24_f0 (param $x i32) (result i32) (local $acc i32)
    i32.const 1 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc i32.const 2 i32.add local.set $acc
    local.get $acc
    catch $e0
    local.get $x i32.const 1 i32.and
    if
    else
    end
    rethrow 0
    i32.const 3
    catch $e2
    i32.wrap_i64 i32.add call $log
    local.get $x i32.const 8 i32.and
    if
    else
    try (result i32)
    i32.const 4 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch $e2
    i32.wrap_i64 i32.add call $log
    i32.const 5
    catch $e1
    local.set $acc
    local.get $x i32.const 6 i32.xor call $p24_f3
    local.get $acc i32.add local.set $acc
    i32.const 7 call $log
    i32.const 8
    end local.set $acc
    i32.const 9 call $log
    i32.const 10
    catch $e1
    i32.const 11 call $log
    call $log
    try
    delegate 3
    try
    local.get $x i32.const 4 i32.and
    if rethrow 2 end
    try
    i32.const 12 call $log
    catch $e1
    i32.const 13 call $log
    local.set $acc
    i32.const 14
    local.get $x i32.const 8 i32.and
    br_if 2
    drop
    catch_all
    i32.const 15 call $log
    end
    catch $e0
    i32.const 16 call $log
    catch $e1
    i32.const 17 call $log
    local.set $acc
    catch_all
    i32.const 18 call $log
    end
    i32.const 19
    end
    local.get $acc i32.add local.set $acc
    end
    i32.const 20
    end local.set $acc
    local.get $acc)
  (func $p24_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $acc br 0
    i32.const 22 try (type $p1)
    local.get $acc i32.add local.set $acc
    try
    local.get $x i32.const 8 i32.and
    if local.get $acc return end
    local.get $x i32.const 2 i32.and
    if
    throw $e0
    end
    try
    catch $e2
    i32.const 23 call $log
    i32.wrap_i64 i32.add call $log
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 3 3 3
    local.get $x i32.const 4 i32.and
    if
    else
    try
    local.get $x i32.const 2 i32.and
    if rethrow 3 end
    local.get $x i32.const 2 i32.and
    if local.get $acc return end
    local.get $acc i32.const 25 i32.add local.set $acc
    delegate 0
    i32.const 26 call $log
    i32.const 27 call $log
    end
    local.get $x i32.const 8 i32.and
    i32.eqz
    if
    i32.const 28 throw $e1
    end
    catch $e0
    i32.const 29 call $log
    i32.const 30 call $log
    local.get $acc i32.const 31 i32.add local.set $acc
    end
    local.get $acc i32.const 32 i32.add local.set $acc
    end
    local.get $x i32.const 4 i32.and
    i32.eqz
    if local.get $acc return end
    block loop
    i32.const 33 call $log
    i32.const 34 call $log
     br 1
    local.get $acc i32.const 35 i32.add local.set $acc
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc
    catch_all
    i32.const 36 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 37 try (type $p1)
    local.get $acc i32.add local.set $acc
    block loop
    i32.const 38 call $log
    local.get $x i32.const 2 i32.and
    if
    i32.const 39 throw $e1
    end
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc
    catch_all
    i32.const 40 try (type $p1)
    local.get $acc i32.add local.set $acc
    try
    local.get $x i32.const 2 i32.and
    if
    local.get $acc i32.const 41 i32.add local.set $acc
    else
    i32.const 42 call $log
    end
    local.get $x i32.const 4 i32.and
    if
    i32.const 43 i64.const 44 throw $e2
    end
    catch $e1
    i32.const 45 call $log
    call $log
    catch_all
    i32.const 46 call $log
    end
    local.get $acc
    catch $e0
    i32.const 47
    catch_all
    i32.const 48
    end local.set $acc
    i32.const 49
    end local.set $acc
    local.get $acc
    catch $e0
    i32.const 50
    end local.set $acc
    i32.const 51
    end local.set $acc
    local.get $acc)
  (func $p24_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 52 i32.xor call $p24_f3
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 53 i32.xor call $p24_f3
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 54 i32.xor call $p24_f3
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p24_f3 (param $x i32) (result i32) (local $acc i32)
    local.get $acc br 0
    i32.const 56 call $log
    i32.const 57 try (type $p1)
    local.get $acc i32.add local.set $acc
    block loop
    i32.const 58 call $log
    try
    i32.const 59 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 1 i32.and
    if
    i32.const 60 i64.const 61 throw $e2
    end
    try
    local.get $x i32.const 4 i32.and
    i32.eqz
    if
    i32.const 62 i64.const 63 throw $e2
    end
    try (result i32)
    local.get $x i32.const 8 i32.and
    if
    throw $e0
    end
    i32.const 64
    catch $e1
    i32.const 65 call $log
    call $log
    i32.const 66 call $log
    i32.const 67 call $log
    local.get $acc i32.const 68 i32.add local.set $acc
    i32.const 69
    end
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 2 i32.and
    if local.get $acc return end
    
    local.get $x i32.const 1 i32.and
    br_if 0
    delegate 5
    local.get $acc i32.const 70 i32.add local.set $acc
    block
    local.get $x i32.const 8 i32.and
    i32.eqz
    if
    i32.const 71 throw $e1
    end
    i32.const 72 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 73 call $log
    i32.const 74 call $log
    
    local.get $x i32.const 2 i32.and
    br_if 3
    local.get $acc
    catch_all
    i32.const 75 call $log
    i32.const 76 call $log
    i32.const 77 call $log
    i32.const 78 call $log
    i32.const 79
    end local.set $acc
    local.get $acc i32.const 80 i32.add local.set $acc
    i32.const 81 call $log
    end
    local.get $acc
    catch $e2
    i32.wrap_i64 i32.add call $log
    try
    local.get $acc i32.const 82 i32.add local.set $acc
    i32.const 83 call $log
    block
    i32.const 84 call $log
    local.get $acc i32.const 85 i32.add local.set $acc
    end
    catch $e1
    i32.const 86 call $log
    call $log
    end
    i32.const 87
    catch $e0
    i32.const 88
    end local.set $acc
    catch $e1
    i32.const 89 call $log
    local.set $acc
    end
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc
    catch_all
    i32.const 90
    end local.set $acc
    local.get $acc)
  (func (export "run24") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p24_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p25_f0 (param $x i32) (result i32) (local $acc i32)
    try
    block loop
    i32.const 1 call $log
    end end
    try (result i32)
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 0 2 0 2
    block
    end
    i32.const 3
    end
    local.get $acc i32.add local.set $acc
    delegate 0
    local.get $acc)
  (func $p25_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 4 i32.xor call $p25_f2
    local.get $acc i32.add local.set $acc
    block (result i32)
    block
    local.get $x i32.const 1 i32.and
    if
    else
    local.get $x i32.const 8 i32.and
    if
    i32.const 5 throw $e1
    end
    block
    i32.const 6 call $log
    try (result i32)
    i32.const 7
    catch $e1
    i32.const 8 call $log
    call $log
    block
    local.get $acc i32.const 9 i32.add local.set $acc
    end
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    throw $e0
    end
    try
    local.get $x i32.const 8 i32.and
    if
    i32.const 10 throw $e1
    end
    local.get $x i32.const 8 i32.and
    if rethrow 2 end
    delegate 2
    rethrow 0
    i32.const 11
    catch $e2
    i32.const 12 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 13
    local.get $x i32.const 2 i32.and
    br_if 0
    drop
    local.get $acc i32.const 14 i32.add local.set $acc
    i32.const 15
    catch $e0
    i32.const 16 call $log
    local.get $x i32.const 4 i32.and
    if
    throw $e0
    end
    i32.const 17 call $log
    try
    catch $e0
    i32.const 18 call $log
    i32.const 19 call $log
    i32.const 20 call $log
    i32.const 21 call $log
    catch $e1
    i32.const 22 call $log
    local.set $acc
    local.get $x i32.const 1 i32.and
    if
    throw $e0
    end
    catch_all
    i32.const 23 call $log
    i32.const 24 call $log
    i32.const 25 call $log
    i32.const 26 call $log
    end
    i32.const 27
    catch_all
    i32.const 28 call $log
    i32.const 29
    end
    local.get $acc i32.add local.set $acc
    end
    end
    end
    i32.const 30
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p25_f2 (param $x i32) (result i32) (local $acc i32)
    try
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    else
    end
    local.get $x i32.const 4 i32.and
    if
    i32.const 31 throw $e1
    end
    delegate 0
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    i32.const 32 throw $e1
    end
    i32.const 33 call $log
    local.get $x i32.const 34 i32.xor call $p25_f3
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p25_f3 (param $x i32) (result i32) (local $acc i32)
    i32.const 35 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 36 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch_all
    local.get $acc br 2
    i32.const 38 local.get $x i32.const 3 i32.rem_u
    br_table 1 1
    i32.const 39 br 0
    i32.const 40
    end local.set $acc
    i32.const 41 call $log
    local.get $acc
    catch_all
    i32.const 42 br 0
    try
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    i32.const 43 throw $e1
    end
    catch_all
    i32.const 44 call $log
    end
    i32.const 45
    end local.set $acc
    local.get $acc)
  (func (export "run25") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p25_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p26_f0 (param $x i32) (result i32) (local $acc i32)
    block (result i32)
    i32.const 1 call $log
    local.get $x i32.const 2 i32.and
    if
    i32.const 2 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 2 i32.and
    if
    else
    local.get $acc i32.const 3 i32.add local.set $acc
    end
    local.get $x i32.const 8 i32.and
    if
    i32.const 4 i64.const 5 throw $e2
    end
    i32.const 6 call $log
    local.get $acc
    catch $e1
    local.set $acc
    block
    try
    i32.const 7 call $log
    catch $e0
    i32.const 8 call $log
    local.get $x i32.const 2 i32.and
    if rethrow 1 end
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 6 6
    else
    i32.const 10 call $log
    i32.const 11 call $log
    end
    try
    i32.const 12 call $log
    delegate 0
    catch $e1
    i32.const 13 call $log
    call $log
    end
    end
    i32.const 14
    catch $e0
    i32.const 15
    end local.set $acc
    else
    end
    i32.const 16
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p26_f1 (param $x i32) (result i32) (local $acc i32)
    try
    try
    
    local.get $x i32.const 1 i32.and
    br_if 1
    local.get $acc i32.const 17 i32.add local.set $acc
    i32.const 18 call $log
    end
    block loop
    i32.const 19 call $log
    i32.const 20 call $log
    local.get $acc i32.const 21 i32.add local.set $acc
    block
    i32.const 22 call $log
    i32.const 23 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 24 call $log
    local.get $acc
    catch_all
    i32.const 25
    end local.set $acc
    i32.const 26 call $log
    end
    end end
    try
    block
    i32.const 27 call $log
    try
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
     br 2
    else
    i32.const 28 call $log
     local.get $x i32.const 3 i32.rem_u
    br_table 0 4 0 4
    try
    catch_all
    i32.const 29 call $log
    end
    end
    delegate 2
    end
    catch_all
    i32.const 30 call $log
    end
    delegate 0
    local.get $acc)
  (func (export "run26") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p26_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p27_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc i32.const 1 i32.add local.set $acc
    i32.const 2 call $log
    local.get $acc)
  (func $p27_f1 (param $x i32) (result i32) (local $acc i32)
    i32.const 3 throw $e1
    local.get $acc i32.const 4 i32.add local.set $acc
    local.get $acc)
  (func $p27_f2 (param $x i32) (result i32) (local $acc i32)
    try
    block loop
    i32.const 5 call $log
    try
    catch $e1
    i32.const 6 call $log
    local.set $acc
    block (result i32)
    local.get $acc i32.const 7 i32.add local.set $acc
    i32.const 8 try (type $p1)
    local.get $acc i32.add local.set $acc
    try
    delegate 6
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    throw $e0
    else
    end
    local.get $acc
    catch $e0
    block (result i32)
    i32.const 9 call $log
    local.get $x i32.const 4 i32.and
    i32.eqz
    if rethrow 2 end
    local.get $x i32.const 10 i32.xor call $p27_f3
    local.get $acc i32.add local.set $acc
    i32.const 11
    end
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 8 i32.and
    if rethrow 1 end
    local.get $x i32.const 12 i32.xor call $p27_f3
    local.get $acc i32.add local.set $acc
     br 5
    i32.const 13
    end local.set $acc
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    i32.const 14 throw $e1
    end
    local.get $x i32.const 1 i32.and
    if
    throw $e0
    end
    i32.const 15
    end
    local.get $acc i32.add local.set $acc
    try
    block
    end
    delegate 0
    catch $e0
    i32.const 16 call $log
    catch $e2
    i32.const 17 call $log
    i32.wrap_i64 i32.add call $log
    catch_all
    i32.const 18 call $log
    end
    end end
    catch $e2
    i32.const 19 call $log
    i32.wrap_i64 i32.add call $log
    catch $e0
    i32.const 20 call $log
    catch_all
    i32.const 21 call $log
    end
    local.get $acc)
  (func $p27_f3 (param $x i32) (result i32) (local $acc i32)
    try
    try
    local.get $acc br 2
    catch $e0
    i32.const 23 call $log
    catch $e1
    i32.const 24 call $log
    call $log
    try
    try (result i32)
    i32.const 25
    catch $e1
    i32.const 26 call $log
    call $log
    i32.const 27
    catch $e0
    i32.const 28 call $log
    i32.const 29
    end
    local.get $acc i32.add local.set $acc
    delegate 0
    catch $e2
    i32.const 30 call $log
    i32.wrap_i64 i32.add call $log
    catch_all
    i32.const 31 call $log
    end
    delegate 0
    local.get $acc)
  (func (export "run27") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p27_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p28_f0 (param $x i32) (result i32) (local $acc i32)
    block (result i32)
    block loop
    i32.const 1 call $log
    local.get $x i32.const 2 i32.and
    if
    throw $e0
    end
    block (result i32)
    local.get $x i32.const 4 i32.and
    if
    throw $e0
    end
    local.get $acc i32.const 2 i32.add local.set $acc
    try
    local.get $x i32.const 4 i32.and
    if
    local.get $acc i32.const 3 i32.add local.set $acc
    i32.const 4 call $log
    try
    i32.const 5 call $log
    local.get $x i32.const 4 i32.and
    if local.get $acc return end
    catch $e0
    i32.const 6 call $log
    catch $e2
    i32.const 7 call $log
    i32.wrap_i64 i32.add call $log
    catch $e1
    i32.const 8 call $log
    call $log
    catch_all
    i32.const 9 call $log
    end
    else
    end
    delegate 4
    i32.const 10
    end
    local.get $acc i32.add local.set $acc
    end end
    i32.const 11
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func (export "run28") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p28_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p29_f0 (param $x i32) (result i32) (local $acc i32)
    try (result i32)
    try
     br 0
     local.get $x i32.const 3 i32.rem_u
    br_table 0 0
    local.get $acc
    local.get $x i32.const 2 i32.and
    br_if 2
    drop
    delegate 0
    i32.const 2 i64.const 3 throw $e2
    try
    block
    i32.const 4 call $log
    local.get $x i32.const 8 i32.and
    if
    i32.const 5 throw $e1
    end
    end
    catch $e2
    i32.const 6 call $log
    i32.wrap_i64 i32.add call $log
    try
    try (result i32)
    try
    local.get $acc
    local.get $x i32.const 4 i32.and
    br_if 5
    drop
    catch $e1
    i32.const 8 call $log
    local.set $acc
    local.get $x i32.const 1 i32.and
    if
    else
    i32.const 9 call $log
    i32.const 10 call $log
    local.get $acc i32.const 11 i32.add local.set $acc
    end
    end
    local.get $acc i32.const 12 i32.add local.set $acc
    i32.const 13
    end
    local.get $acc i32.add local.set $acc
    try
    local.get $acc i32.const 14 i32.add local.set $acc
    try
    try
    delegate 4
    try (result i32)
    i32.const 15 br 0
    local.get $acc i32.const 16 i32.add local.set $acc
    local.get $x i32.const 2 i32.and
    if rethrow 5 end
    i32.const 17
    catch $e0
    i32.const 18 call $log
    i32.const 19
    catch $e2
    i32.const 20 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 21
    catch $e1
    i32.const 22 call $log
    local.set $acc
    i32.const 23
    end
    local.get $acc i32.add local.set $acc
    delegate 0
    end
    catch $e1
    i32.const 24 call $log
    local.set $acc
    catch $e0
    i32.const 25 call $log
    end
    catch $e1
    i32.const 26 call $log
    call $log
    catch_all
    i32.const 27 call $log
    end
    i32.const 28
    catch $e1
    i32.const 29 call $log
    call $log
    i32.const 30
    catch $e0
    i32.const 31 call $log
    i32.const 32
    catch_all
    i32.const 33 call $log
    i32.const 34
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func (export "run29") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p29_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p30_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func (export "run30") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p30_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p31_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc
    local.get $x i32.const 1 i32.and
    i32.eqz
    br_if 0
    drop
    local.get $acc)
  (func (export "run31") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p31_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p32_f0 (param $x i32) (result i32) (local $acc i32)
    i32.const 1 call $log
    try
    try
    i32.const 2 try (type $p1)
    local.get $acc i32.add local.set $acc
    try
    i32.const 3 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 4 call $log
    local.get $x i32.const 1 i32.and
    if
    i32.const 5 throw $e1
    end
    i32.const 6 call $log
    try
    i32.const 7 call $log
    i32.const 8 call $log
    i32.const 9 call $log
    local.get $x i32.const 2 i32.and
    i32.eqz
    if
    throw $e0
    end
    delegate 2
    local.get $acc
    catch $e0
    i32.const 10
    end local.set $acc
    try (result i32)
    try
    i32.const 11 call $log
    local.get $x i32.const 4 i32.and
    if local.get $acc return end
    catch $e0
    i32.const 12 call $log
    i32.const 13 call $log
    catch $e2
    i32.const 14 call $log
    i32.wrap_i64 i32.add call $log
    catch $e1
    i32.const 15 call $log
    call $log
    catch_all
    i32.const 16 call $log
    end
    i32.const 17
    catch_all
    i32.const 18 call $log
    i32.const 19
    end
    local.get $acc i32.add local.set $acc
    delegate 2
    local.get $acc
    catch_all
    i32.const 20
    end local.set $acc
    delegate 1
    delegate 0
    local.get $acc)
  (func $p32_f1 (param $x i32) (result i32) (local $acc i32)
    block
    i32.const 21 call $log
    i32.const 22 call $log
    end
    local.get $acc br 0
    local.get $acc)
  (func (export "run32") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p32_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p33_f0 (param $x i32) (result i32) (local $acc i32)
    try
    
    local.get $x i32.const 4 i32.and
    br_if 0
    block
    end
    local.get $x i32.const 2 i32.and
    if
    throw $e0
    end
    delegate 0
    local.get $acc)
  (func $p33_f1 (param $x i32) (result i32) (local $acc i32)
    try
    catch $e0
    i32.const 1 call $log
    local.get $x i32.const 2 i32.and
    if
    i32.const 2 throw $e1
    end
    catch $e1
    i32.const 3 call $log
    local.set $acc
    i32.const 4 i64.const 5 throw $e2
    catch $e2
    i32.const 6 call $log
    i32.wrap_i64 i32.add call $log
    catch_all
    i32.const 7 call $log
    local.get $x i32.const 4 i32.and
    if
    throw $e0
    end
    try
    
    local.get $x i32.const 8 i32.and
    br_if 0
    local.get $x i32.const 2 i32.and
    i32.eqz
    if rethrow 2 end
    catch $e1
    i32.const 8 call $log
    local.set $acc
    local.get $x i32.const 8 i32.and
    if local.get $acc return end
    
    local.get $x i32.const 4 i32.and
    br_if 1
    block
    end
    i32.const 9 call $log
    catch $e0
    i32.const 10 call $log
    end
    local.get $x i32.const 11 i32.xor call $p33_f2
    local.get $acc i32.add local.set $acc
    end
    local.get $acc i32.const 12 i32.add local.set $acc
    local.get $acc)
  (func $p33_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $acc
    local.get $x i32.const 1 i32.and
    br_if 0
    drop
    block (result i32)
    try (result i32)
    i32.const 14
    catch $e0
    i32.const 15 call $log
    block loop
    i32.const 16 call $log
    rethrow 2
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    try
    i32.const 17 call $log
    catch $e2
    i32.const 18 call $log
    i32.wrap_i64 i32.add call $log
    try
    try
    block
    end
    i32.const 19
    local.get $x i32.const 8 i32.and
    i32.eqz
    br_if 3
    drop
    i32.const 20 call $log
    i32.const 21 br 4
    catch $e2
    i32.const 22 call $log
    i32.wrap_i64 i32.add call $log
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 4 5 4
    catch_all
    i32.const 24 call $log
    try
    catch $e0
    i32.const 25 call $log
    i32.const 26 call $log
    end
    end
    catch $e0
    i32.const 27 call $log
    catch $e2
    i32.const 28 call $log
    i32.wrap_i64 i32.add call $log
    end
    catch $e0
    i32.const 29 call $log
    end
    i32.const 30
    catch $e1
    i32.const 31 call $log
    call $log
    i32.const 32
    end
    local.get $acc i32.add local.set $acc
    i32.const 33
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func (export "run33") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p33_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p34_f0 (param $x i32) (result i32) (local $acc i32)
    try (result i32)
    block
    block loop
    i32.const 1 call $log
    try
    delegate 2
    i32.const 2 call $log
    i32.const 3 call $log
    i32.const 4 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    try (result i32)
    i32.const 5 call $log
    local.get $x i32.const 2 i32.and
    if
    i32.const 6 i64.const 7 throw $e2
    end
    i32.const 8 call $log
    i32.const 9
    catch $e0
    i32.const 10 call $log
    i32.const 11
    catch $e1
    i32.const 12 call $log
    local.set $acc
    block
    local.get $x i32.const 13 i32.xor call $p34_f2
    local.get $acc i32.add local.set $acc
    end
    i32.const 14
    catch_all
    i32.const 15 call $log
    i32.const 16
    end
    local.get $acc i32.add local.set $acc
    end
    i32.const 17
    catch $e2
    i32.const 18 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 19
    catch $e1
    i32.const 20 call $log
    local.set $acc
    i32.const 21
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p34_f1 (param $x i32) (result i32) (local $acc i32)
    i32.const 22 call $log
    i32.const 23 call $log
    local.get $acc
    local.get $x i32.const 1 i32.and
    i32.eqz
    br_if 0
    drop
    block (result i32)
    try (result i32)
    i32.const 25
    catch_all
    i32.const 26 call $log
    i32.const 27 call $log
    i32.const 28
    end
    local.get $acc i32.add local.set $acc
    local.get $x i32.const 8 i32.and
    if
    else
    i32.const 29 call $log
    try
    local.get $x i32.const 8 i32.and
    if
    i32.const 30 i64.const 31 throw $e2
    end
    i32.const 32
    local.get $x i32.const 2 i32.and
    br_if 2
    drop
    i32.const 33 call $log
    i32.const 34 call $log
    catch_all
    i32.const 35 call $log
    i32.const 36 call $log
    block (result i32)
    i32.const 37 try (type $p1)
    local.get $acc i32.add local.set $acc
    i32.const 38 call $log
    try
    i32.const 39 call $log
    i32.const 40 call $log
    i32.const 41 call $log
    delegate 2
    local.get $x i32.const 2 i32.and
    if
    else
    i32.const 42 call $log
    end
    local.get $acc
    catch $e1
    local.set $acc
    local.get $x i32.const 43 i32.xor call $p34_f2
    local.get $acc i32.add local.set $acc
    local.get $acc i32.const 44 i32.add local.set $acc
    try
    catch $e2
    i32.const 45 call $log
    i32.wrap_i64 i32.add call $log
    catch $e0
    i32.const 46 call $log
    end
    i32.const 47
    catch $e0
    i32.const 48
    catch_all
    i32.const 49
    end local.set $acc
    i32.const 50
    end
    local.get $acc i32.add local.set $acc
    end
    end
    i32.const 51
    end
    local.get $acc i32.add local.set $acc
    local.get $acc)
  (func $p34_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 2 i32.and
    if
    i32.const 52 i64.const 53 throw $e2
    end
    local.get $acc)
  (func (export "run34") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p34_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p35_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p35_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p35_f2 (param $x i32) (result i32) (local $acc i32)
    block loop
    i32.const 1 call $log
    local.get $x i32.const 4 i32.and
    if
    i32.const 2 i64.const 3 throw $e2
    end
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc local.get $x i32.const 3 i32.rem_u
    br_table 0 0 0
    local.get $acc
    local.get $x i32.const 2 i32.and
    br_if 0
    drop
    local.get $acc i32.const 6 i32.add local.set $acc
    local.get $acc)
  (func (export "run35") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p35_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p36_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func (export "run36") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p36_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p37_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p37_f1 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 4 i32.and
    i32.eqz
    if
    block (result i32)
    block loop
    i32.const 1 call $log
    i32.const 2 call $log
    i32.const 3 try (type $p1)
    local.get $acc i32.add local.set $acc
     br 4
    i32.const 4 call $log
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 1
     local.get $x i32.const 3 i32.rem_u
    br_table 2 2 4 4
    local.get $acc
    catch_all
    i32.const 5
    end local.set $acc
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    i32.const 6
    end
    local.get $acc i32.add local.set $acc
    else
    end
    local.get $acc)
  (func $p37_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p37_f3 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 8 i32.and
    if
    i32.const 7 throw $e1
    end
    local.get $x i32.const 8 i32.and
    i32.eqz
    if
    i32.const 8 i64.const 9 throw $e2
    end
    local.get $acc i32.const 10 i32.add local.set $acc
    local.get $acc)
  (func (export "run37") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p37_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p38_f0 (param $x i32) (result i32) (local $acc i32)
    i32.const 1 call $log
    throw $e0
    block loop
    i32.const 2 call $log
    local.get $x i32.const 2 i32.and
    if
    else
    local.get $x i32.const 1 i32.and
    if
    else
    local.get $x i32.const 3 i32.xor call $p38_f1
    local.get $acc i32.add local.set $acc
    try
    local.get $x i32.const 8 i32.and
    i32.eqz
    if
    i32.const 4 throw $e1
    end
    block
    end
    catch $e2
    i32.const 5 call $log
    i32.wrap_i64 i32.add call $log
    block
    try
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 5
    local.get $x i32.const 1 i32.and
    i32.eqz
    if local.get $acc return end
    delegate 5
    try (result i32)
    i32.const 6
    catch $e2
    i32.const 7 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 8
    catch $e1
    i32.const 9 call $log
    local.set $acc
    i32.const 10 call $log
    i32.const 11 call $log
    i32.const 12 call $log
    i32.const 13
    catch $e0
    i32.const 14 call $log
    i32.const 15 call $log
    i32.const 16 call $log
    i32.const 17 call $log
    i32.const 18
    catch_all
    i32.const 19 call $log
    i32.const 20 call $log
    i32.const 21
    end
    local.get $acc i32.add local.set $acc
    end
    end
    end
    end
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc)
  (func $p38_f1 (param $x i32) (result i32) (local $acc i32)
    i32.const 22 call $log
    local.get $acc)
  (func (export "run38") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p38_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
  (func $p39_f0 (param $x i32) (result i32) (local $acc i32)
    local.get $acc)
  (func $p39_f1 (param $x i32) (result i32) (local $acc i32)
    block loop
    i32.const 1 call $log
    local.get $acc i32.const 2 i32.add local.set $acc
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    try
    catch $e0
    i32.const 3 call $log
    local.get $x i32.const 1 i32.and
    i32.eqz
    if
    local.get $x i32.const 4 i32.xor call $p39_f3
    local.get $acc i32.add local.set $acc
    i32.const 5 try (type $p1)
    local.get $acc i32.add local.set $acc
    try
    try
    delegate 3
    try
    try (result i32)
    local.get $x i32.const 6 i32.xor call $p39_f3
    local.get $acc i32.add local.set $acc
    i32.const 7
    catch $e1
    i32.const 8 call $log
    call $log
    local.get $x i32.const 1 i32.and
    i32.eqz
    if rethrow 1 end
    i32.const 9 call $log
    i32.const 10 call $log
    i32.const 11
    catch $e0
    i32.const 12 call $log
    local.get $x i32.const 4 i32.and
    if rethrow 1 end
    i32.const 13
    end
    local.get $acc i32.add local.set $acc
     local.get $x i32.const 3 i32.rem_u
    br_table 0 4
    end
    block (result i32)
    i32.const 14 call $log
    try (result i32)
    i32.const 15
    catch $e1
    i32.const 16 call $log
    local.set $acc
    local.get $acc i32.const 17 i32.add local.set $acc
    i32.const 18
    catch $e0
    i32.const 19 call $log
    i32.const 20
    catch $e2
    i32.const 21 call $log
    i32.wrap_i64 i32.add call $log
    i32.const 22
    catch_all
    i32.const 23 call $log
    i32.const 24
    end
    local.get $acc i32.add local.set $acc
    i32.const 25
    end
    local.get $acc i32.add local.set $acc
    catch $e1
    i32.const 26 call $log
    call $log
    catch_all
    i32.const 27 call $log
    end
    local.get $acc
    catch_all
    i32.const 28
    end local.set $acc
    else
    end
    end
    local.get $acc)
  (func $p39_f2 (param $x i32) (result i32) (local $acc i32)
    local.get $x i32.const 8 i32.and
    if
    i32.const 29 throw $e1
    try
    delegate 0
    block loop
    i32.const 30 call $log
    local.get $x i32.const 31 i32.xor call $p39_f3
    local.get $acc i32.add local.set $acc
    global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel
    i32.const 0 i32.gt_s br_if 0
    end end
    local.get $acc br 1
    else
    end
    local.get $x i32.const 4 i32.and
    if local.get $acc return end
    i32.const 33 i64.const 34 throw $e2
    local.get $acc)
  (func $p39_f3 (param $x i32) (result i32) (local $acc i32)
    try
    i32.const 35 try (type $p1)
    local.get $acc i32.add local.set $acc
    local.get $acc
    local.get $x i32.const 1 i32.and
    br_if 2
    drop
    block
    end
     local.get $x i32.const 3 i32.rem_u
    br_table 1 1
    block (result i32)
    i32.const 37
    end
    local.get $acc i32.add local.set $acc
    local.get $acc
    catch_all
    i32.const 38
    end local.set $acc
    delegate 0
    local.get $acc)
  (func (export "run39") (param $x i32) (result i32)
    i32.const 25 global.set $fuel
    try (result i32)
      local.get $x call $p39_f0
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end)
)
