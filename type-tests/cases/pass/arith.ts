/**
 * Type-level dim arithmetic (@effect-nn/shape arith.ts): exact results on literals,
 * `number` for unknown (`number`) and symbolic (`Sym<…>`) inputs, the conv/pool output
 * formula, flatten (Product) and concat (Sum) sizes.
 */
import type {
  Add,
  Compare,
  ConvOut,
  FloorDiv,
  Gt,
  Gte,
  Lt,
  Lte,
  Mod,
  Mul,
  Product,
  ShapeMismatch,
  Sub,
  Sum,
  Sym
} from "@effect-nn/shape"
import { expectTypeOf } from "vitest"

// ---- Add: 0, carries, lengths that differ ----
expectTypeOf<Add<0, 0>>().toEqualTypeOf<0>()
expectTypeOf<Add<0, 7>>().toEqualTypeOf<7>()
expectTypeOf<Add<7, 0>>().toEqualTypeOf<7>()
expectTypeOf<Add<999, 1>>().toEqualTypeOf<1000>()
expectTypeOf<Add<1, 999>>().toEqualTypeOf<1000>()
expectTypeOf<Add<99999, 99999>>().toEqualTypeOf<199998>()
expectTypeOf<Add<128, 64>>().toEqualTypeOf<192>()
expectTypeOf<Add<4294836225, 65535>>().toEqualTypeOf<4294901760>()

// ---- Sub: borrows; a negative result is never ----
expectTypeOf<Sub<1000, 1>>().toEqualTypeOf<999>()
expectTypeOf<Sub<100, 100>>().toEqualTypeOf<0>()
expectTypeOf<Sub<5, 0>>().toEqualTypeOf<5>()
expectTypeOf<Sub<10000, 9999>>().toEqualTypeOf<1>()
expectTypeOf<Sub<3, 5>>().toBeNever()

// ---- Mul: 0 and 1, carries, large ----
expectTypeOf<Mul<0, 12345>>().toEqualTypeOf<0>()
expectTypeOf<Mul<12345, 0>>().toEqualTypeOf<0>()
expectTypeOf<Mul<1, 12345>>().toEqualTypeOf<12345>()
expectTypeOf<Mul<28, 28>>().toEqualTypeOf<784>()
expectTypeOf<Mul<10, 10>>().toEqualTypeOf<100>()
expectTypeOf<Mul<99, 99>>().toEqualTypeOf<9801>()
expectTypeOf<Mul<65535, 65535>>().toEqualTypeOf<4294836225>()
expectTypeOf<Mul<4194304, 2147483648>>().toEqualTypeOf<9007199254740992>() // 2^53, exact
expectTypeOf<Mul<99999999, 99999999>>().toEqualTypeOf<number>() // 9999999800000001 > 2^53: not representable

// ---- FloorDiv / Mod: long division by any positive divisor ----
expectTypeOf<FloorDiv<5408, 13>>().toEqualTypeOf<416>()
expectTypeOf<FloorDiv<27, 2>>().toEqualTypeOf<13>()
expectTypeOf<FloorDiv<0, 7>>().toEqualTypeOf<0>()
expectTypeOf<FloorDiv<7, 1>>().toEqualTypeOf<7>()
expectTypeOf<FloorDiv<6, 7>>().toEqualTypeOf<0>()
expectTypeOf<FloorDiv<1000000, 64>>().toEqualTypeOf<15625>()
expectTypeOf<FloorDiv<99999, 99999>>().toEqualTypeOf<1>()
expectTypeOf<FloorDiv<4294836225, 65535>>().toEqualTypeOf<65535>()
expectTypeOf<FloorDiv<7, 0>>().toBeNever()
expectTypeOf<Mod<27, 2>>().toEqualTypeOf<1>()
expectTypeOf<Mod<5408, 13>>().toEqualTypeOf<0>()
expectTypeOf<Mod<100000, 99999>>().toEqualTypeOf<1>()

// ---- Compare and the predicates ----
expectTypeOf<Compare<9, 10>>().toEqualTypeOf<-1>()
expectTypeOf<Compare<10, 10>>().toEqualTypeOf<0>()
expectTypeOf<Compare<100, 99>>().toEqualTypeOf<1>()
expectTypeOf<Lt<3, 4>>().toEqualTypeOf<true>()
expectTypeOf<Lt<4, 4>>().toEqualTypeOf<false>()
expectTypeOf<Lte<4, 4>>().toEqualTypeOf<true>()
expectTypeOf<Gt<4, 4>>().toEqualTypeOf<false>()
expectTypeOf<Gte<4, 4>>().toEqualTypeOf<true>()
expectTypeOf<Gte<3, 4>>().toEqualTypeOf<false>()

// ---- Product (flatten) and Sum (concat) ----
expectTypeOf<Product<[]>>().toEqualTypeOf<1>()
expectTypeOf<Product<[7]>>().toEqualTypeOf<7>()
expectTypeOf<Product<[28, 28]>>().toEqualTypeOf<784>()
expectTypeOf<Product<[32, 13, 13]>>().toEqualTypeOf<5408>()
expectTypeOf<Product<[512, 7, 7]>>().toEqualTypeOf<25088>()
expectTypeOf<Product<readonly [3, 0, 5]>>().toEqualTypeOf<0>()
expectTypeOf<Sum<[]>>().toEqualTypeOf<0>()
expectTypeOf<Sum<[64, 32]>>().toEqualTypeOf<96>()
expectTypeOf<Sum<[256, 256, 512]>>().toEqualTypeOf<1024>()

// ---- ConvOut: floor((H + 2P − D(K − 1) − 1) / S) + 1 ----
expectTypeOf<ConvOut<28, 3, 1, 0, 1>>().toEqualTypeOf<26>() // Conv2d(k=3)
expectTypeOf<ConvOut<28, 3, 1, 1, 1>>().toEqualTypeOf<28>() // Conv2d(k=3, padding=1): "same"
expectTypeOf<ConvOut<26, 2, 2, 0, 1>>().toEqualTypeOf<13>() // MaxPool2d(2)
expectTypeOf<ConvOut<5, 2, 2, 0, 1>>().toEqualTypeOf<2>() // floor: the last row is dropped
expectTypeOf<ConvOut<28, 3>>().toEqualTypeOf<26>() // defaults S = 1, P = 0, D = 1
expectTypeOf<ConvOut<224, 7, 2, 3>>().toEqualTypeOf<112>() // ResNet stem
expectTypeOf<ConvOut<112, 3, 2, 1>>().toEqualTypeOf<56>() // ResNet max pool
expectTypeOf<ConvOut<5, 3, 1, 0, 2>>().toEqualTypeOf<1>() // dilation 2 spans 5
expectTypeOf<ConvOut<1, 1>>().toEqualTypeOf<1>()
expectTypeOf<ConvOut<1000, 64, 64>>().toEqualTypeOf<15>()
expectTypeOf<ConvOut<2, 5, 1, 0, 1>>().toEqualTypeOf<
  ShapeMismatch<"ConvOut(H=2, K=5, S=1, P=0, D=1): output size would be <= 0: padded input H + 2P = 2 is smaller than the kernel span D(K - 1) + 1 = 5">
>()
// The tutorial CNN: 28 → conv3 26 → pool2 13, flatten 32·13·13.
expectTypeOf<Product<[32, ConvOut<ConvOut<28, 3>, 2, 2>, ConvOut<ConvOut<28, 3>, 2, 2>]>>().toEqualTypeOf<5408>()

// ---- Unknown and symbolic inputs give number, never an error ----
expectTypeOf<Add<number, 1>>().toEqualTypeOf<number>()
expectTypeOf<Mul<Sym<"B">, 784>>().toEqualTypeOf<number>()
expectTypeOf<Sub<Sym<"B">, 1>>().toEqualTypeOf<number>()
expectTypeOf<FloorDiv<number, 2>>().toEqualTypeOf<number>()
expectTypeOf<FloorDiv<6, number>>().toEqualTypeOf<number>()
expectTypeOf<Product<[Sym<"B">, 784]>>().toEqualTypeOf<number>()
expectTypeOf<Product<Array<number>>>().toEqualTypeOf<number>()
expectTypeOf<Sum<[64, number]>>().toEqualTypeOf<number>()
expectTypeOf<ConvOut<Sym<"H">, 3>>().toEqualTypeOf<number>()
expectTypeOf<ConvOut<number, 5>>().toEqualTypeOf<number>()
expectTypeOf<ConvOut<2, number>>().toEqualTypeOf<number>()
expectTypeOf<Compare<number, 3>>().toEqualTypeOf<-1 | 0 | 1>()
expectTypeOf<Lt<Sym<"B">, 3>>().toEqualTypeOf<boolean>()
// Not non-negative integer literals: unknown as well.
expectTypeOf<Add<1.5, 1>>().toEqualTypeOf<number>()
expectTypeOf<Add<-1, 1>>().toEqualTypeOf<number>()

// ---- Unions distribute ----
expectTypeOf<Add<1 | 2, 10>>().toEqualTypeOf<11 | 12>()
expectTypeOf<Product<[2 | 3, 4]>>().toEqualTypeOf<8 | 12>()

// ---- Generic code: results defer, then resolve at the call site ----
declare function convBlock<H extends number, P extends number>(h: H, p: P): [ConvOut<H, 3, 1, P>, Product<[16, H, H]>]
expectTypeOf(convBlock(28, 1)).toEqualTypeOf<[28, 12544]>()
