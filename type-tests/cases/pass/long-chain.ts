/**
 * A 100-module chain checks without "Type instantiation is excessively deep" (TS2589)
 * and still computes the exact output shape and parameter keys.
 * Modules: for i = 1..50, `Linear(i, i + 1)` then `ReLU()`; input [B, 1] → output [B, 51].
 */
import type { OutputOf, ParamsOf } from "@effect-nn/layers"
import { Linear, ReLU, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { expectTypeOf } from "vitest"

const net = sequential(
  Linear(1, 2),
  ReLU(),
  Linear(2, 3),
  ReLU(),
  Linear(3, 4),
  ReLU(),
  Linear(4, 5),
  ReLU(),
  Linear(5, 6),
  ReLU(),
  Linear(6, 7),
  ReLU(),
  Linear(7, 8),
  ReLU(),
  Linear(8, 9),
  ReLU(),
  Linear(9, 10),
  ReLU(),
  Linear(10, 11),
  ReLU(),
  Linear(11, 12),
  ReLU(),
  Linear(12, 13),
  ReLU(),
  Linear(13, 14),
  ReLU(),
  Linear(14, 15),
  ReLU(),
  Linear(15, 16),
  ReLU(),
  Linear(16, 17),
  ReLU(),
  Linear(17, 18),
  ReLU(),
  Linear(18, 19),
  ReLU(),
  Linear(19, 20),
  ReLU(),
  Linear(20, 21),
  ReLU(),
  Linear(21, 22),
  ReLU(),
  Linear(22, 23),
  ReLU(),
  Linear(23, 24),
  ReLU(),
  Linear(24, 25),
  ReLU(),
  Linear(25, 26),
  ReLU(),
  Linear(26, 27),
  ReLU(),
  Linear(27, 28),
  ReLU(),
  Linear(28, 29),
  ReLU(),
  Linear(29, 30),
  ReLU(),
  Linear(30, 31),
  ReLU(),
  Linear(31, 32),
  ReLU(),
  Linear(32, 33),
  ReLU(),
  Linear(33, 34),
  ReLU(),
  Linear(34, 35),
  ReLU(),
  Linear(35, 36),
  ReLU(),
  Linear(36, 37),
  ReLU(),
  Linear(37, 38),
  ReLU(),
  Linear(38, 39),
  ReLU(),
  Linear(39, 40),
  ReLU(),
  Linear(40, 41),
  ReLU(),
  Linear(41, 42),
  ReLU(),
  Linear(42, 43),
  ReLU(),
  Linear(43, 44),
  ReLU(),
  Linear(44, 45),
  ReLU(),
  Linear(45, 46),
  ReLU(),
  Linear(46, 47),
  ReLU(),
  Linear(47, 48),
  ReLU(),
  Linear(48, 49),
  ReLU(),
  Linear(49, 50),
  ReLU(),
  Linear(50, 51),
  ReLU()
)

expectTypeOf(net.modules).toHaveProperty("length").toEqualTypeOf<100>()
expectTypeOf<OutputOf<typeof net, [Sym<"B">, 1]>>().toEqualTypeOf<[Sym<"B">, 51]>()
expectTypeOf<OutputOf<typeof net, [32, 1]>>().toEqualTypeOf<[32, 51]>()

type P = ParamsOf<typeof net>
expectTypeOf<keyof P>().toEqualTypeOf<
  "0" | "2" | "4" | "6" | "8" | "10" | "12" | "14" | "16" | "18" | "20" | "22" | "24" | "26" | "28" | "30" | "32" | "34" | "36" | "38" | "40" | "42" | "44" | "46" | "48" | "50" | "52" | "54" | "56" | "58" | "60" | "62" | "64" | "66" | "68" | "70" | "72" | "74" | "76" | "78" | "80" | "82" | "84" | "86" | "88" | "90" | "92" | "94" | "96" | "98"
>()
expectTypeOf<P["0"]["weight"]>().toEqualTypeOf<Tensor<[2, 1]>>()
expectTypeOf<P["98"]["weight"]>().toEqualTypeOf<Tensor<[51, 50]>>()
