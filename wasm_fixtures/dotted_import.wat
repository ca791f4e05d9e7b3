;; An import whose module name has a dot in it: a.b.c is module "a.b", name "c".
(module
  (import "a.b" "c" (func $c))
  (func (export "call_c") (call $c)))
