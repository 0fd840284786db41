(* T16 - realisations of the gated-linear family as S6 channels.
   (a) A head of T14(c) whose transitions are diagonal, M_t = diag(g_t),
       with write vectors b_t = k_t and queries q_t, read after the step, is
       on every value coordinate c the S6 channel of state d_k
         Abar_t = g_t (the diagonal of M_t),  Bbar_t = k_t,  C_t = q_t,
       input v[c]: its alpha equals the head's A, and its scan is the
       head's output (T1 with T14).  A scalar transition M_t = a_t I is the
       channel Abar_t = (a_t, ..., a_t).
   (b) RWKV-6 (T14(b): o_t = (S_{t-1} + diag(u) k_t v_t^T)^T q_t,
       S_t = diag(w_t) S_{t-1} + k_t v_t^T) is, over a field, on every value
       coordinate the channel of state 2 d_k of
       `family::linear::realise::rwkv6_channel`:
         chain half:   Abar_0 = 0, Abar_1 = 1, Abar_t = w_{t-1} (t >= 2),
                       Bbar_t = k_t / omega_t,
         second half:  Abar_t = 0,  Bbar_t = u .* k_t - k_t / omega_t,
         C_t = (q_t, q_t),
       with omega_t = w_t for 1 <= t <= L-2 and omega_t = 1 at t = 0 and
       t = L-1 (the steps that are never divided by), provided no entry of
       w_t is 0 for 1 <= t <= L-2 (the case the Rust construction refuses
       with `ZeroTransition`).  For s < t the chain half gives
       q_t^T (w_{t-1} ... w_{s+1}) k_s and the second half nothing (its
       Abar = 0 enters every product); on the diagonal the halves add up
       to q_t^T (u .* k_t). *)

From mathcomp Require Import all_ssreflect ssralg zmodp matrix.
From HiddenAttention Require Import Ranges Channel T1_Unrolling T14_DiagonalFamily
  T14_RWKV6 T14_DeltaRule T15_FamilySemiseparable.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Extensionality.

Variable R : comRingType.
Variables L dk : nat.

(* The implicit attention depends on the transitions pointwise only. *)
Lemma trans_prod_ext (M M' : 'I_L -> 'M[R]_dk) s m :
  (forall t, M t = M' t) -> trans_prod M s m = trans_prod M' s m.
Proof.
move=> eq_M; elim: m => //= m ->; case: ifP => // _.
by rewrite /at_time; case: insub => [t|]; rewrite ?eq_M.
Qed.

Lemma mx_A_ext (M M' : 'I_L -> 'M[R]_dk) (b q : 'I_L -> 'cV[R]_dk) t s :
  (forall t, M t = M' t) -> mx_A M b q t s = mx_A M' b q t s.
Proof. by move=> eq_M; rewrite /mx_A (trans_prod_ext _ _ eq_M). Qed.

End Extensionality.

Section Diagonal.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (g q k : 'I_L -> 'I_dk -> R) (v : 'I_L -> 'cV[R]_dv).

(* The head with transitions diag(g_t), b_t = k_t, queries q_t. *)
Definition diag_M (t : 'I_L) : 'M[R]_dk := diag_mx (\row_i g t i).
Definition col_of (f : 'I_L -> 'I_dk -> R) (t : 'I_L) : 'cV[R]_dk :=
  \col_i f t i.

(* T16(a): the channel Abar = g, Bbar = k, C = q has alpha = A. *)
Theorem t16_diagonal_alpha_is_A (t s : 'I_L) :
  alpha g k q t s = mx_A diag_M (col_of k) (col_of q) t s.
Proof. by rewrite t14_matrix_transition_diagonal. Qed.

(* T16(a): on value coordinate c the head is that channel with input v[c]. *)
Theorem t16_diagonal_head_is_channel (t : 'I_L) (c : 'I_dv) :
  mx_out diag_M (col_of k) (col_of q) v t c 0 =
  output g k q (fun s => v s c 0) t.
Proof.
rewrite t14_matrix_transition_unrolling_coord t1_scan_eq_hidden_attention.
by apply: eq_bigr => s _; rewrite t16_diagonal_alpha_is_A.
Qed.

End Diagonal.

Section Scalar.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (a : 'I_L -> R) (q k : 'I_L -> 'I_dk -> R) (v : 'I_L -> 'cV[R]_dv).

(* T16(a), scalar transitions M_t = a_t I: the channel Abar_t = (a_t, ..., a_t). *)
Theorem t16_scalar_alpha_is_A (t s : 'I_L) :
  alpha (fun r _ => a r) k q t s =
  mx_A (fun r => (a r)%:M) (col_of k) (col_of q) t s.
Proof.
rewrite (t16_diagonal_alpha_is_A (fun r _ => a r)); apply: mx_A_ext => r.
by apply/matrixP => i j; rewrite !mxE.
Qed.

Theorem t16_scalar_head_is_channel (t : 'I_L) (c : 'I_dv) :
  mx_out (fun r => (a r)%:M) (col_of k) (col_of q) v t c 0 =
  output (fun r _ => a r) k q (fun s => v s c 0) t.
Proof.
rewrite t14_matrix_transition_unrolling_coord t1_scan_eq_hidden_attention.
by apply: eq_bigr => s _; rewrite t16_scalar_alpha_is_A.
Qed.

End Scalar.

Section RWKV6Channel.

Variable F : fieldType.
Variables L dk dv : nat.
Variables (w q k : 'I_L -> 'I_dk -> F) (u : 'I_dk -> F).
Variable v : 'I_L -> 'I_dv -> F.

(* The steps whose decay is divided by: 1 <= t <= L-2. *)
Definition rwkv6_divided (t : 'I_L) : bool := (0 < t)%N && (t.+2 <= L)%N.

Definition rwkv6_omega (t : 'I_L) (i : 'I_dk) : F :=
  if rwkv6_divided t then w t i else 1.

(* The channel of state d_k + d_k of `rwkv6_channel`. *)
Definition rwkv6_abar (t : 'I_L) (n : 'I_(dk + dk)) : F :=
  if split n is inl i then
    (if t == 0%N :> nat then 0
     else if t == 1%N :> nat then 1
     else at_step (fun r => w r i) t.-1)
  else 0.

Definition rwkv6_bbar (t : 'I_L) (n : 'I_(dk + dk)) : F :=
  match split n with
  | inl i => k t i / rwkv6_omega t i
  | inr i => u i * k t i - k t i / rwkv6_omega t i
  end.

Definition rwkv6_C (t : 'I_L) (n : 'I_(dk + dk)) : F :=
  match split n with inl i => q t i | inr i => q t i end.

(* The decays divided by are nonzero. *)
Hypothesis w_neq0 : forall (t : 'I_L) (i : 'I_dk), rwkv6_divided t -> w t i != 0.

Lemma rwkv6_omega_neq0 t i : rwkv6_omega t i != 0.
Proof.
by rewrite /rwkv6_omega; case: ifP => [/w_neq0 -> //|_]; exact: oner_neq0.
Qed.

(* The chain: prod_{r=s+1}^{n} Abar_r = (prod_{r=s+1}^{n-1} w_r) w_s, with
   w_0 replaced by 1. *)
Lemma rwkv6_chain_prod (s : 'I_L) (i : 'I_dk) n : (s < n)%N -> (n < L)%N ->
  \prod_(r < L | (s < r <= n)%N) rwkv6_abar r (lshift dk i) =
  (\prod_(r < L | (s < r < n)%N) w r i) *
  (if s == 0%N :> nat then 1 else w s i).
Proof.
elim: n => // n IH; rewrite ltnS leq_eqVlt => /orP [/eqP eq_sn|lt_sn] lt_nL.
  have lt_sL : (s.+1 < L)%N by rewrite -eq_sn in lt_nL.
  rewrite (big_pred1 (Ordinal lt_sL)) => [|r]; last first.
    by move=> /=; rewrite -val_eqE /= -eq_sn eqn_leq andbC.
  rewrite big_pred0 => [|r]; last by rewrite -eq_sn ltnS ltnNge andNb.
  rewrite mul1r /rwkv6_abar split_lshift /=.
  by rewrite eqSS; case: (s == 0%N :> nat); rewrite ?at_stepE.
rewrite (prod_range_last _ lt_nL); last exact: ltnW.
rewrite (IH lt_sn (ltnW lt_nL)) (prod_range_last _ (ltnW lt_nL)) // mulrA.
rewrite /rwkv6_abar split_lshift /= eqSS ifF; last first.
  by apply/negbTE; rewrite -lt0n (leq_ltn_trans _ lt_sn).
by rewrite (at_stepS _ (ltnW lt_nL)).
Qed.

(* T16(b): the channel's alpha is RWKV-6's A. *)
Theorem t16_rwkv6_alpha_is_A (t s : 'I_L) :
  alpha rwkv6_abar rwkv6_bbar rwkv6_C t s = rwkv6_A w q k u t s.
Proof.
rewrite /alpha /rwkv6_A; case: (ltngtP s t) => [lt_st|lt_ts|eq_st].
- rewrite big_split_ord /= [X in _ + X]big1 ?addr0 => [|i _]; last first.
    rewrite /gate_prod (bigD1 t) /=; last by rewrite lt_st leqnn.
    by rewrite /rwkv6_abar split_rshift mul0r mulr0 mul0r.
  apply: eq_bigr => i _; rewrite /gate_prod (rwkv6_chain_prod _ lt_st) //.
  rewrite /rwkv6_C /rwkv6_bbar split_lshift -!mulrA; congr (_ * (_ * _)).
  have -> : (if s == 0%N :> nat then 1 else w s i) = rwkv6_omega s i.
    rewrite /rwkv6_omega /rwkv6_divided lt0n.
    case: eqP => [-> //|_] /=.
    by rewrite (leq_ltn_trans lt_st (ltn_ord t)).
  by rewrite mulrC mulfVK ?rwkv6_omega_neq0.
- by rewrite ifF // -val_eqE /= gtn_eqF.
have -> : s = t by apply: val_inj.
rewrite eqxx big_split_ord /= -big_split /=.
apply: eq_bigr => i _; rewrite /gate_prod !big_pred0 => [|r|r]; last 2 first.
- by rewrite ltnNge andNb.
- by rewrite ltnNge andNb.
rewrite /rwkv6_C /rwkv6_bbar split_lshift split_rshift !mulr1 -mulrDr.
by rewrite addrC subrK mulrA.
Qed.

(* T16(b): on value coordinate c RWKV-6 is that channel of state 2 d_k
   with input v[c]. *)
Theorem t16_rwkv6_is_channel (t : 'I_L) (c : 'I_dv) :
  rwkv6_out w q k u v t c =
  output rwkv6_abar rwkv6_bbar rwkv6_C (fun s => v s c) t.
Proof.
rewrite t14_rwkv6_unrolling t1_scan_eq_hidden_attention.
by apply: eq_bigr => s _; rewrite t16_rwkv6_alpha_is_A.
Qed.

End RWKV6Channel.
