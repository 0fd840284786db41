(* T14 (b) - unrolling of RWKV-6 (diagonal decay with a bonus).
   RWKV-6 keeps the d_k x d_v state of the diagonal family,
     S_t = diag(w_t) S_{t-1} + k_t v_t^T,   S_{-1} = 0,
   but reads the state *before* the current step and adds the current token
   through the bonus u:
     o_t = (S_{t-1} + diag(u) k_t v_t^T)^T q_t.
   Over any commutative ring, on every value coordinate c,
     o_t[c] = sum_{s <= t} A_{ts} v_s[c],
     A_{ts} = sum_i q_t[i] (prod_{r=s+1}^{t-1} w_r[i]) k_s[i]   (s < t),
     A_{tt} = sum_i q_t[i] u[i] k_t[i],
     A_{ts} = 0                                              (s > t):
   the bonus replaces the diagonal, and the decay chain of s stops at t-1. *)

From mathcomp Require Import all_ssreflect ssralg matrix.
From HiddenAttention Require Import Channel T1_Unrolling T14_DiagonalFamily.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section RWKV6.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (w q k : 'I_L -> 'I_dk -> R) (u : 'I_dk -> R).
Variable v : 'I_L -> 'I_dv -> R.

(* o_t[c]; [diag_state w k v t] is S_{t-1}, the state after the first t
   steps. *)
Definition rwkv6_out (t : 'I_L) (c : 'I_dv) : R :=
  \sum_(i < dk) q t i * (diag_state w k v t i c + u i * k t i * v t c).

(* The implicit attention matrix. *)
Definition rwkv6_A (t s : 'I_L) : R :=
  if (s < t)%N then
    \sum_(i < dk) q t i * (\prod_(r < L | (s < r < t)%N) w r i) * k s i
  else if s == t then \sum_(i < dk) q t i * u i * k t i
  else 0.

(* T14(b): o_t[c] = sum_{s <= t} A_{ts} v_s[c]. *)
Theorem t14_rwkv6_unrolling (t : 'I_L) (c : 'I_dv) :
  rwkv6_out t c = \sum_(s < L | (s <= t)%N) rwkv6_A t s * v s c.
Proof.
rewrite (bigD1 t) //= /rwkv6_A ltnn eqxx addrC.
rewrite (eq_bigl (fun s : 'I_L => (s < t)%N)) => [|s]; last first.
  by rewrite ltn_neqAle andbC.
rewrite /rwkv6_out.
under [LHS]eq_bigr do rewrite t14_diagonal_state_is_channel_state
  (state_unrolled _ _ _ _ (ltnW (ltn_ord t))) mulrDr.
rewrite big_split /=; congr (_ + _); last first.
  by rewrite mulr_suml; apply: eq_bigr => i _; rewrite !mulrA.
under [LHS]eq_bigr do rewrite big_distrr.
rewrite exchange_big /=; apply: eq_bigr => s lt_st; rewrite lt_st mulr_suml.
by apply: eq_bigr => i _; rewrite !mulrA.
Qed.

End RWKV6.
