(* T15 - semiseparable rank of the gated-linear family.
   For the general time-varying head of T14(c),
     S_t = M_t S_{t-1} + b_t v_t^T,   S_{-1} = 0,   o_t = S_t^T q_t,
   with A_{ts} = q_t^T (M_t ... M_{s+1}) b_s (s <= t), every entry of the
   block A[j.., ..j] (rows t >= j, columns s <= j) factors through the
   split j:
     A_{ts} = U_t V_s,   U_t = q_t^T M_t ... M_{j+1}   (a 1 x d_k row),
                         V_s = M_j ... M_{s+1} b_s     (a d_k x 1 column),
   the factors of `theorems::t15::block_factors` (top factor M_t, empty
   products are I).  Over any commutative ring the block is the product
   U V of an (L-j) x d_k and a d_k x (j+1) matrix, so over a field its rank
   is at most d_k (T4's argument: rank of a product <= inner dimension) and
   the semiseparable rank of A is at most d_k.
   RWKV-6 (T14(b): readout before the step, bonus u on the diagonal,
   A_{ts} = sum_i q_t[i] (prod_{r=s+1}^{t-1} w_r[i]) k_s[i] for s < t):
     A_{ts} = U_t V_s for s <= j < t,
     U_t[i] = q_t[i] prod_{r=j+1}^{t-1} w_r[i],  V_s[i] = (prod_{r=s+1}^{j} w_r[i]) k_s[i],
   so the strictly lower blocks A[j+1.., ..j] have rank <= d_k; the block
   through the diagonal A[j.., ..j] adds the one row j, whose entries are
   not on the chain: rank <= d_k + 1, and the semiseparable rank is at most
   d_k + 1. *)

From mathcomp Require Import all_ssreflect ssralg zmodp matrix mxalgebra.
From HiddenAttention Require Import Ranges T4_Semiseparable T14_DeltaRule
  T14_RWKV6.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Factors.

Variable R : comRingType.
Variables L dk : nat.
Variables (M : 'I_L -> 'M[R]_dk) (b q : 'I_L -> 'cV[R]_dk).

(* Splitting the transition product at j: for s <= j < m,
   M_{m-1} ... M_{s+1} = (M_{m-1} ... M_{j+1}) (M_j ... M_{s+1}). *)
Lemma trans_prod_split s j m : (s <= j)%N -> (j < m)%N ->
  trans_prod M s m = trans_prod M j m *m trans_prod M s j.+1.
Proof.
move=> le_sj; elim: m => // m IH; rewrite ltnS leq_eqVlt => /orP [/eqP <-|lt_jm].
  by rewrite trans_prod_diag mul1mx.
by rewrite /= lt_jm (leq_ltn_trans le_sj lt_jm) IH // mulmxA.
Qed.

(* U_t = q_t^T M_t ... M_{j+1} (the identity product when t = j). *)
Definition t15_U (j t : 'I_L) : 'rV[R]_dk := (q t)^T *m trans_prod M j t.+1.

(* V_s = M_j ... M_{s+1} b_s. *)
Definition t15_V (j s : 'I_L) : 'cV[R]_dk := trans_prod M s j.+1 *m b s.

(* T15, entrywise: A_{ts} = U_t V_s for s <= j <= t. *)
Theorem t15_factorisation (j t s : 'I_L) : (s <= j)%N -> (j <= t)%N ->
  mx_A M b q t s = (t15_U j t *m t15_V j s) 0 0.
Proof.
move=> le_sj le_jt; rewrite /mx_A (leq_trans le_sj le_jt) /t15_U /t15_V.
by rewrite (trans_prod_split le_sj (leq_ltn_trans le_jt (ltnSn t))) !mulmxA.
Qed.

(* The factors as matrices, for rows r a >= j and columns c e <= j. *)
Definition t15_U_mx m (j : 'I_L) (r : 'I_m -> 'I_L) : 'M[R]_(m, dk) :=
  \matrix_(a, i) t15_U j (r a) 0 i.

Definition t15_V_mx p (j : 'I_L) (c : 'I_p -> 'I_L) : 'M[R]_(dk, p) :=
  \matrix_(i, e) t15_V j (c e) i 0.

(* T15, block form: any submatrix of A with rows >= j and columns <= j is
   U V, an (m x d_k) times (d_k x p) product. *)
Theorem t15_block_factorisation m p (j : 'I_L)
    (r : 'I_m -> 'I_L) (c : 'I_p -> 'I_L) :
  (forall a, (j <= r a)%N) -> (forall e, (c e <= j)%N) ->
  \matrix_(a, e) mx_A M b q (r a) (c e) = t15_U_mx j r *m t15_V_mx j c.
Proof.
move=> le_jr le_cj; apply/matrixP => a b'.
rewrite !mxE (t15_factorisation (le_cj b') (le_jr a)) !mxE.
by apply: eq_bigr => i _; rewrite !mxE.
Qed.

End Factors.

Section Rank.

Variable F : fieldType.
Variables L dk : nat.
Variables (M : 'I_L -> 'M[F]_dk) (b q : 'I_L -> 'cV[F]_dk).

(* The implicit attention matrix of the head. *)
Definition family_A_mx : 'M[F]_L := \matrix_(t, s) mx_A M b q t s.

(* T15, general form: rows >= j, columns <= j: rank <= d_k. *)
Theorem t15_semiseparable_rank_general m p (j : 'I_L)
    (r : 'I_m -> 'I_L) (c : 'I_p -> 'I_L) :
  (forall a, (j <= r a)%N) -> (forall e, (c e <= j)%N) ->
  (\rank (\matrix_(a, e) mx_A M b q (r a) (c e)) <= dk)%N.
Proof.
move=> le_jr le_cj; rewrite (t15_block_factorisation M b q le_jr le_cj).
exact: leq_trans (mxrankM_maxl _ _) (rank_leq_col _).
Qed.

(* T15: every block A[j.., ..j] has rank <= d_k. *)
Theorem t15_semiseparable_rank (j : 'I_L) :
  (\rank (ss_block family_A_mx j) <= dk)%N.
Proof.
have -> : ss_block family_A_mx j =
          \matrix_(a, e) mx_A M b q (block_row a) (block_col e).
  by apply/matrixP => a b'; rewrite !mxE.
apply: (@t15_semiseparable_rank_general _ _ j) => [a|b'].
  by rewrite /= leq_addr.
by rewrite /= -ltnS.
Qed.

(* T15: the semiseparable rank of A is at most d_k. *)
Corollary t15_ss_rank_le_dk : (ss_rank family_A_mx <= dk)%N.
Proof. by apply/ss_rank_leqP => j; exact: t15_semiseparable_rank. Qed.

End Rank.

Section Split.

Lemma split_lshift m n (i : 'I_m) : split (lshift n i) = inl i.
Proof. exact: (unsplitK (inl _ i)). Qed.

Lemma split_rshift m n (i : 'I_n) : split (rshift m i) = inr i.
Proof. exact: (unsplitK (inr _ i)). Qed.

End Split.

Section RWKV6Factors.

Variable R : comRingType.
Variables L dk : nat.
Variables (w q k : 'I_L -> 'I_dk -> R) (u : 'I_dk -> R).

(* U_t[i] = q_t[i] prod_{r=j+1}^{t-1} w_r[i]: the top factor is M_{t-1}. *)
Definition t15_rwkv6_U (j t : 'I_L) : 'rV[R]_dk :=
  \row_i (q t i * \prod_(r < L | (j < r < t)%N) w r i).

(* V_s[i] = (prod_{r=s+1}^{j} w_r[i]) k_s[i]. *)
Definition t15_rwkv6_V (j s : 'I_L) : 'cV[R]_dk :=
  \col_i ((\prod_(r < L | (s < r <= j)%N) w r i) * k s i).

(* T15, RWKV-6, entrywise: A_{ts} = U_t V_s for s <= j < t. *)
Theorem t15_rwkv6_factorisation (j t s : 'I_L) : (s <= j)%N -> (j < t)%N ->
  rwkv6_A w q k u t s = (t15_rwkv6_U j t *m t15_rwkv6_V j s) 0 0.
Proof.
move=> le_sj lt_jt; rewrite /rwkv6_A (leq_ltn_trans le_sj lt_jt) !mxE.
apply: eq_bigr => i _; rewrite !mxE -!mulrA; congr (_ * _); rewrite !mulrA.
congr (_ * _); rewrite mulrC (bigID (fun r : 'I_L => (r <= j)%N)) /=.
congr (_ * _); apply: eq_bigl => r.
  case: (leqP r j) => le_rj; rewrite ?andbT ?andbF //.
  by rewrite (leq_ltn_trans le_rj lt_jt) andbT.
case: (leqP r j) => le_rj /=; rewrite ?andbF ?andbT //.
by rewrite (leq_ltn_trans le_sj le_rj).
Qed.

Definition t15_rwkv6_U_mx m (j : 'I_L) (r : 'I_m -> 'I_L) : 'M[R]_(m, dk) :=
  \matrix_(a, i) t15_rwkv6_U j (r a) 0 i.

Definition t15_rwkv6_V_mx p (j : 'I_L) (c : 'I_p -> 'I_L) : 'M[R]_(dk, p) :=
  \matrix_(i, e) t15_rwkv6_V j (c e) i 0.

(* T15, RWKV-6, strictly below the diagonal: rows > j, columns <= j. *)
Theorem t15_rwkv6_block_factorisation m p (j : 'I_L)
    (r : 'I_m -> 'I_L) (c : 'I_p -> 'I_L) :
  (forall a, (j < r a)%N) -> (forall e, (c e <= j)%N) ->
  \matrix_(a, e) rwkv6_A w q k u (r a) (c e) =
  t15_rwkv6_U_mx j r *m t15_rwkv6_V_mx j c.
Proof.
move=> lt_jr le_cj; apply/matrixP => a b'.
rewrite !mxE (t15_rwkv6_factorisation (le_cj b') (lt_jr a)) !mxE.
by apply: eq_bigr => i _; rewrite !mxE.
Qed.

(* Through the diagonal: row j is kept apart as one more inner dimension.
   The left factor has row (U_t, 0) for t > j and (0, 1) for t = j; the
   right factor is V stacked on the row j of A. *)
Definition t15_rwkv6_Ud_mx m (j : 'I_L) (r : 'I_m -> 'I_L) :
    'M[R]_(m, dk + 1) :=
  \matrix_(a, i)
    if r a == j then (if split i is inr _ then 1 else 0)
    else (if split i is inl i' then t15_rwkv6_U j (r a) 0 i' else 0).

Definition t15_rwkv6_Vd_mx p (j : 'I_L) (c : 'I_p -> 'I_L) :
    'M[R]_(dk + 1, p) :=
  col_mx (t15_rwkv6_V_mx j c) (\row_e rwkv6_A w q k u j (c e)).

(* T15, RWKV-6, through the diagonal: rows >= j, columns <= j is a product
   with inner dimension d_k + 1. *)
Theorem t15_rwkv6_diag_block_factorisation m p (j : 'I_L)
    (r : 'I_m -> 'I_L) (c : 'I_p -> 'I_L) :
  (forall a, (j <= r a)%N) -> (forall e, (c e <= j)%N) ->
  \matrix_(a, e) rwkv6_A w q k u (r a) (c e) =
  t15_rwkv6_Ud_mx j r *m t15_rwkv6_Vd_mx j c.
Proof.
move=> le_jr le_cj; apply/matrixP => a b'.
rewrite /t15_rwkv6_Vd_mx !mxE big_split_ord /= big_ord1 col_mxEd !mxE.
rewrite split_rshift.
under eq_bigr => i _ do rewrite col_mxEu !mxE split_lshift.
case: eqP => [rj|/eqP ne_rj].
  by rewrite big1 ?add0r ?mul1r ?rj // => i _; rewrite mul0r.
have lt_jr : (j < r a)%N by rewrite ltn_neqAle eq_sym ne_rj le_jr.
rewrite mul0r addr0 (t15_rwkv6_factorisation (le_cj b') lt_jr) !mxE.
by apply: eq_bigr => i _; rewrite !mxE.
Qed.

End RWKV6Factors.

Section RWKV6Rank.

Variable F : fieldType.
Variables L dk : nat.
Variables (w q k : 'I_L -> 'I_dk -> F) (u : 'I_dk -> F).

Definition rwkv6_A_mx : 'M[F]_L := \matrix_(t, s) rwkv6_A w q k u t s.

(* T15, RWKV-6: rows > j, columns <= j: rank <= d_k. *)
Theorem t15_rwkv6_rank_below_general m p (j : 'I_L)
    (r : 'I_m -> 'I_L) (c : 'I_p -> 'I_L) :
  (forall a, (j < r a)%N) -> (forall e, (c e <= j)%N) ->
  (\rank (\matrix_(a, e) rwkv6_A w q k u (r a) (c e)) <= dk)%N.
Proof.
move=> lt_jr le_cj; rewrite (t15_rwkv6_block_factorisation w q k u lt_jr le_cj).
exact: leq_trans (mxrankM_maxl _ _) (rank_leq_col _).
Qed.

Lemma below_row_proof (j : 'I_L) (a : 'I_(L - j.+1)) : (j.+1 + a < L)%N.
Proof. by rewrite -ltn_subRL. Qed.

(* The strictly lower block A[j+1.., ..j]. *)
Definition below_block (A : 'M[F]_L) (j : 'I_L) : 'M[F]_(L - j.+1, j.+1) :=
  \matrix_(a, e) A (Ordinal (below_row_proof a)) (block_col e).

(* T15, RWKV-6: every strictly lower block A[j+1.., ..j] has rank <= d_k. *)
Theorem t15_rwkv6_rank_below (j : 'I_L) :
  (\rank (below_block rwkv6_A_mx j) <= dk)%N.
Proof.
have -> : below_block rwkv6_A_mx j =
          \matrix_(a, e) rwkv6_A w q k u (Ordinal (below_row_proof a))
                                         (block_col e).
  by apply/matrixP => a b'; rewrite !mxE.
apply: (@t15_rwkv6_rank_below_general _ _ j) => [a|b'].
  by rewrite /= addSn ltnS leq_addr.
by rewrite /= -ltnS.
Qed.

(* T15, RWKV-6: rows >= j, columns <= j: rank <= d_k + 1. *)
Theorem t15_rwkv6_rank_diag_general m p (j : 'I_L)
    (r : 'I_m -> 'I_L) (c : 'I_p -> 'I_L) :
  (forall a, (j <= r a)%N) -> (forall e, (c e <= j)%N) ->
  (\rank (\matrix_(a, e) rwkv6_A w q k u (r a) (c e)) <= dk + 1)%N.
Proof.
move=> le_jr le_cj.
rewrite (t15_rwkv6_diag_block_factorisation w q k u le_jr le_cj).
exact: leq_trans (mxrankM_maxl _ _) (rank_leq_col _).
Qed.

(* T15, RWKV-6: every block A[j.., ..j] through the diagonal has rank
   <= d_k + 1. *)
Theorem t15_rwkv6_rank_diag (j : 'I_L) :
  (\rank (ss_block rwkv6_A_mx j) <= dk + 1)%N.
Proof.
have -> : ss_block rwkv6_A_mx j =
          \matrix_(a, e) rwkv6_A w q k u (block_row a) (block_col e).
  by apply/matrixP => a b'; rewrite !mxE.
apply: (@t15_rwkv6_rank_diag_general _ _ j) => [a|b'].
  by rewrite /= leq_addr.
by rewrite /= -ltnS.
Qed.

(* T15, RWKV-6: the semiseparable rank is at most d_k + 1. *)
Corollary t15_rwkv6_ss_rank_le : (ss_rank rwkv6_A_mx <= dk + 1)%N.
Proof. by apply/ss_rank_leqP => j; exact: t15_rwkv6_rank_diag. Qed.

End RWKV6Rank.
