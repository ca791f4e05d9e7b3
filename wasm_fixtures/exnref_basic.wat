;; Legacy exception handling (try/catch/catch_all/rethrow/delegate), the core
;; scenarios for the exnref translator (workers/exnref). wasmtime rejects this
;; module; exnref_basic.binaryen.wasm is binaryen's --translate-to-exnref of it.
;; Every export takes one i32 and returns i32; "env" "log" records which code ran.
(module
  (import "env" "log" (func $log (param i32)))
  (type $ii (func (param i32) (result i32)))
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i32 i64))
  (tag $e3 (param f64))

  ;; x=0: $e0, 1: $e1(x+10), 2: $e2(7, 9), 3: $e3(2.5), other: no throw
  (func $thrower (param $x i32)
    (call $log (i32.const 100))
    (block
      (block
        (block
          (block
            (block
              local.get $x
              br_table 0 1 2 3 4)
            throw $e0)
          (throw $e1 (i32.add (local.get $x) (i32.const 10))))
        (throw $e2 (i32.const 7) (i64.const 9)))
      (throw $e3 (f64.const 2.5)))
    (call $log (i32.const 101)))

  ;; a try without any catch is transparent
  (func (export "no_catch") (param $x i32) (result i32)
    (local $y i32)
    try (result i32)
      local.get $x
      call $thrower
      i32.const 1
    end
    try
      i32.const 4
      call $thrower
    end
    local.set $y
    try
    end
    local.get $y)

  ;; several catches and catch_all; payloads on the stack
  (func (export "multi") (param $x i32) (result i32)
    try (result i32)
      local.get $x
      call $thrower
      i32.const -1
    catch $e0
      i32.const 1000
    catch $e1
      i32.const 2000
      i32.add
    catch $e2
      i32.wrap_i64
      i32.add
      i32.const 3000
      i32.add
    catch_all
      (call $log (i32.const 4))
      i32.const 4000
    end)

  ;; catch clauses without catch_all: $e3 escapes
  (func (export "partial") (param $x i32) (result i32)
    try (result i32)
      local.get $x
      call $thrower
      i32.const 5
    catch $e2
      drop
    catch $e1
      i32.const 1
      i32.add
    end)

  ;; branches to the try label from the body and from handlers
  (func (export "catch_br") (param $x i32) (result i32)
    (local $r i32)
    try $t (result i32)
      local.get $x
      i32.const 5
      i32.eq
      if
        i32.const 77
        br $t
      end
      local.get $x
      call $thrower
      i32.const 5
    catch $e1
      local.set $r
      local.get $r
      i32.const 11
      i32.eq
      if
        i32.const 111
        br $t
      end
      local.get $r
    catch_all
      block $b
        local.get $x
        i32.const 3
        i32.eq
        br_if $b
        i32.const 222
        br $t
      end
      i32.const 333
    end
    i32.const 1
    i32.add)

  ;; rethrow from inside nested blocks of a handler
  (func (export "rethrow_nested") (param $x i32) (result i32)
    try (result i32)
      try $inner
        local.get $x
        call $thrower
      catch_all
        block
          loop
            block
              local.get $x
              i32.const 1
              i32.eq
              br_if 0
              (call $log (i32.const 6))
              rethrow $inner
            end
            (call $log (i32.const 5))
          end
        end
      end
      i32.const 0
    catch $e1
      i32.const 50
      i32.add
    catch_all
      i32.const 99
    end)

  ;; rethrow of an outer catch from inside an inner try's handler
  (func (export "rethrow_outer") (param $x i32) (result i32)
    try (result i32)
      try $a
        local.get $x
        call $thrower
      catch $e1
        drop
        try $b
          i32.const 2
          call $thrower
        catch $e2
          drop
          drop
          rethrow $a
        end
      catch_all
        try $c
          i32.const 0
          call $thrower
        catch_all
          local.get $x
          i32.const 3
          i32.eq
          if
            rethrow $c
          end
          rethrow $a
        end
      end
      i32.const 0
    catch $e0
      i32.const 10
    catch $e1
    catch $e2
      drop
      drop
      i32.const 30
    catch $e3
      drop
      i32.const 40
    end)

  ;; rethrow depth counted through the handler's own nested try
  (func (export "rethrow_deep") (param $x i32) (result i32)
    (local $n i32)
    try (result i32)
      try $a
        local.get $x
        call $thrower
      catch_all
        try $b
          try $c
            local.get $x
            i32.const 1
            i32.add
            call $thrower
          catch_all
            local.get $x
            i32.const 2
            i32.lt_u
            if
              rethrow $a
            end
            rethrow $c
          end
        catch_all
          (call $log (i32.const 7))
          rethrow $b
        end
      end
      i32.const 0
    catch $e0
      i32.const 1
    catch $e1
      i32.const 20
      i32.add
    catch $e2
      drop
      drop
      i32.const 3
    catch_all
      i32.const 4
    end)

  ;; delegate to an enclosing try (skipping a try in between)
  (func (export "delegate_try") (param $x i32) (result i32)
    try $outer (result i32)
      try $mid
        try
          local.get $x
          call $thrower
        delegate 1
        (call $log (i32.const 1))
      catch_all
        (call $log (i32.const 2))
      end
      i32.const 0
    catch $e1
    catch_all
      i32.const -5
    end)

  ;; delegate to a block: the nearest try around the block handles it
  (func (export "delegate_block") (param $x i32) (result i32)
    try (result i32)
      try (result i32)
        block $blk
          loop
            try
              local.get $x
              call $thrower
            delegate $blk
          end
        end
        i32.const 1
      catch_all
        (call $log (i32.const 3))
        i32.const 2
      end
    catch_all
      i32.const 3
    end)

  ;; delegate from a handler to the try that owns the handler: that try is no
  ;; longer active, so the next one out catches
  (func (export "delegate_in_catch") (param $x i32) (result i32)
    try (result i32)
      try $t (result i32)
        i32.const 1
        call $thrower
        i32.const 0
      catch $e1
        drop
        try
          local.get $x
          call $thrower
        delegate $t
        i32.const 6
      end
    catch_all
      i32.const 7
    end)

  ;; two delegates to one target, and a delegate chain
  (func (export "delegate_chain") (param $x i32) (result i32)
    try $a (result i32)
      try $b
        try
          local.get $x
          i32.const 1
          i32.and
          call $thrower
        delegate $b
        try
          local.get $x
          i32.const 1
          i32.shr_u
          call $thrower
        delegate $b
      delegate $a
      i32.const 0
    catch $e0
      i32.const 10
    catch $e1
      i32.const 100
      i32.add
    end)

  ;; delegate to the caller: enclosing handlers of this function are bypassed
  (func $deleg_fn (param $x i32) (result i32)
    try (result i32)
      block
        try
          local.get $x
          call $thrower
        delegate 2
      end
      i32.const 1
    catch_all
      (call $log (i32.const 8))
      i32.const 2
    end)
  (func (export "delegate_fn") (param $x i32) (result i32)
    try (result i32)
      local.get $x
      call $deleg_fn
    catch $e1
      i32.const 1000
      i32.add
    catch_all
      i32.const 77
    end)

  ;; delegate to the caller from directly inside the function body
  (func $deleg_fn0 (param $x i32) (result i32 i64)
    try
      local.get $x
      call $thrower
    delegate 0
    i32.const 3
    i64.const 4)
  (func (export "delegate_fn0") (param $x i32) (result i32)
    try (result i32)
      local.get $x
      call $deleg_fn0
      i32.wrap_i64
      i32.add
    catch_all
      i32.const 55
    end)

  ;; try with params (type-index block types)
  (func $maybe (param $v i32) (result i32)
    local.get $v
    i32.const 1
    i32.and
    if
      local.get $v
      throw $e1
    end
    local.get $v)
  (func (export "try_params") (param $x i32) (result i32)
    local.get $x
    try (type $ii)
      i32.const 1
      i32.add
      call $maybe
    catch $e1
      i32.const 500
      i32.add
    catch_all
      i32.const 9
    end)

  ;; try inside a loop; handlers continue the loop
  (func (export "loop_try") (param $x i32) (result i32)
    (local $i i32) (local $acc i32)
    block $done
      loop $l
        local.get $i
        local.get $x
        i32.ge_u
        br_if $done
        try
          local.get $i
          i32.const 4
          i32.rem_u
          call $thrower
        catch $e1
          local.get $acc
          i32.add
          local.set $acc
          local.get $i
          i32.const 1
          i32.add
          local.set $i
          br $l
        catch_all
          local.get $acc
          i32.const 1
          i32.add
          local.set $acc
        end
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $l
      end
    end
    local.get $acc)

  ;; unreachable code after throw / rethrow (stack-polymorphic)
  (func (export "unreachable_after") (param $x i32) (result i32)
    try (result i32)
      try (result i32)
        local.get $x
        throw $e1
        i32.add
        drop
        block (result i32)
          i32.const 1
          br 0
        end
        i32.mul
        try
        catch_all
        end
      catch $e1
        local.get $x
        i32.const 2
        i32.ge_u
        br_if 0
        rethrow 0
        i32.add
        drop
      end
    catch $e1
      i32.const 1000
      i32.add
    end)

  ;; br_table inside the body and in a handler, to the try and beyond
  (func (export "br_table_try") (param $x i32) (result i32)
    block $b0 (result i32)
      block $b1 (result i32)
        try $t (result i32)
          local.get $x
          i32.const 3
          i32.ge_u
          if
            i32.const 0
            call $thrower
          end
          i32.const 10
          local.get $x
          br_table $b0 $b1 $t
        catch_all
          i32.const 20
          local.get $x
          i32.const 3
          i32.sub
          br_table $t $b1 $b0
        end
        i32.const 1
        i32.add
      end
      i32.const 100
      i32.add
    end)

  ;; multi-value try results, and a try whose handler falls through
  (func (export "multi_value") (param $x i32) (result i32)
    try (result i32 i64)
      local.get $x
      call $thrower
      i32.const 1
      i64.const 2
    catch $e2
    catch $e1
      i64.const 5
    catch_all
      i32.const 8
      i64.const 9
    end
    i32.wrap_i64
    i32.add)
)
