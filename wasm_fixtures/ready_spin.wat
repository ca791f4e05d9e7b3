;; `spin` tells the host it has started (env.ready), then loops forever counting at
;; offset 0: a runaway call that tests can catch in the act without polling.
(module
  (import "env" "ready" (func $ready))
  (memory (export "memory") 1)
  (func (export "spin")
    call $ready
    (loop $forever
      (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
      br $forever))
  (func (export "noop")))
