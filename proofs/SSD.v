(* Shared definitions: one Mamba-2 / SSD head, its recurrent scan and its
   hidden attention matrix.  Indices are 0-based ('I_L for time, 'I_N for
   state, 'I_P for the head dimension), as in the Rust crate.

   One head on a sequence of length L, state size N, head dimension P, at
   step t (scalar transition a_t shared by all N state entries and all P
   head-dimension coordinates):
     h_t[n, p] = a_t h_{t-1}[n, p] + B_t[n] x_t[p],   h_{-1} = 0,
     y_t[p]    = sum_n C_t[n] h_t[n, p] + D[p] x_t[p].
   Mamba-2 discretises with a_t = exp(Delta_t A_h) and the input matrix
   Delta_t B_t; over a general commutative ring the step size is folded into
   the input matrix: [B t n] here stands for Delta_t B_t[n] (T8 also states
   the unrolling with Delta_t kept apart).  D[p] is the skip term (one value
   per head is the constant function).  The hidden attention matrix is
     alpha_{ts} = (C_t . B_s) prod_{r=s+1}^{t} a_r   (s <= t),
     alpha_{ts} = 0                                 (s > t). *)

From mathcomp Require Import all_ssreflect ssralg matrix.
From HiddenAttention Require Import Channel.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section SSD.

Variable R : comRingType.
Variables L N P : nat.

(* The head: scalar transition a t, input matrix B t n (Delta folded in),
   output matrix C t n, skip D p, and the input x t p. *)
Variables (a : 'I_L -> R) (B C : 'I_L -> 'I_N -> R) (D : 'I_P -> R).
Variable x : 'I_L -> 'I_P -> R.

(* [ssd_state m n p]: entry (n, p) of the state after the first m steps. *)
Fixpoint ssd_state (m : nat) (n : 'I_N) (p : 'I_P) : R :=
  match m with
  | 0 => 0
  | m'.+1 => at_step a m' * ssd_state m' n p
             + at_step (fun k => B k n) m' * at_step (fun k => x k p) m'
  end.

(* The state h_t after step t and the output y_t[p]. *)
Definition ssd_hidden (t : 'I_L) (n : 'I_N) (p : 'I_P) : R := ssd_state t.+1 n p.

Definition ssd_output (t : 'I_L) (p : 'I_P) : R :=
  \sum_(n < N) C t n * ssd_hidden t n p + D p * x t p.

Lemma ssd_hiddenE (t : 'I_L) n p :
  ssd_hidden t n p = a t * ssd_state t n p + B t n * x t p.
Proof. by rewrite /ssd_hidden /= !at_stepE. Qed.

(* prod_{r=s+1}^{t} a_r; empty (= 1) when t <= s. *)
Definition ssd_decay (s t : 'I_L) : R := \prod_(r < L | (s < r <= t)%N) a r.

(* The hidden attention matrix of the head (the same for every p). *)
Definition ssd_alpha (t s : 'I_L) : R :=
  if (s <= t)%N then (\sum_(n < N) C t n * B s n) * ssd_decay s t else 0.

Definition ssd_alpha_mx : 'M[R]_L := \matrix_(t, s) ssd_alpha t s.

Lemma ssd_alpha_upper (t s : 'I_L) : (t < s)%N -> ssd_alpha t s = 0.
Proof. by rewrite /ssd_alpha ltnNge => /negbTE ->. Qed.

Lemma ssd_alpha_lower (t s : 'I_L) : (s <= t)%N ->
  ssd_alpha t s = (\sum_(n < N) C t n * B s n) * ssd_decay s t.
Proof. by rewrite /ssd_alpha => ->. Qed.

End SSD.
