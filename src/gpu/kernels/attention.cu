// Chunked hidden attention: the full L x L matrix alpha~ of many channels.
//   abar, bbar, c: (channels, L, N) row-major; alpha: (channels, L, L) row-major.
// Positions are cut into blocks of HA_TILE steps. For i in row block I (first step s_I)
// and j in an earlier column block J (last step e_J), the product over (j, i] splits into
//   prod_{s_I..i} Abar  *  prod_{e_J+1..s_I-1} Abar  *  prod_{j+1..e_J} Abar
//   = (within-block prefix)  *  G_{I,J} (whole blocks between)  *  (within-block suffix)
// so alpha~_ij = sum_n q_{i,n} G_{I,J,n} k_{j,n} with q = C * prefix, k = Bbar * suffix:
// only products, never a division, and at most (i - j) + 3 roundings per term.
// Diagonal blocks use running products down each column; the upper triangle is written
// as zeros.

#define HA_TILE 32
#define HA_ATT_MAXN 32
#define HA_ATT_THREADS 256
#define HA_ATT_WARPS (HA_ATT_THREADS / 32)
// The state size is compiled in (-DHA_N=N): every loop over the states has a fixed trip
// count, fully unrolled, with no predicated-off work for N < 32.
#ifndef HA_N
#error "compile attention.cu with -DHA_N=<state size N>, 1 <= N <= 32"
#endif
#if HA_N < 1 || HA_N > HA_ATT_MAXN
#error "HA_N must be in 1..32"
#endif
// N rounded up to whole float4s (zero padding in shared memory and registers)
#define HA_NP ((HA_N + 3) & ~3)

// One thread per (channel, block, state): q (prefix products times C), k (suffix products
// times Bbar) and the product over the whole block. Divisions are by compile-time
// constants (multiplications and shifts).
extern "C" __global__ void attention_prepare(
    const float* abar, const float* bbar, const float* c,
    int channels, int L, int N,
    float* q, float* k, float* blockprod)
{
    const int nblocks = (L + HA_TILE - 1) / HA_TILE;
    const long long id = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (N != HA_N || id >= (long long)channels * nblocks * HA_N) return;
    const int n = (int)(id % HA_N);
    const long long cb = id / HA_N;
    const int blk = (int)(cb % nblocks);
    const long long ch = cb / nblocks;
    const int s0 = blk * HA_TILE;
    const int e0 = min(s0 + HA_TILE, L) - 1;
    const size_t off = (size_t)ch * L * HA_N;

    float p = 1.0f;
    for (int i = s0; i <= e0; ++i) {
        const size_t x = off + (size_t)i * HA_N + n;
        p = p * abar[x];
        q[x] = c[x] * p;
    }
    float r = 1.0f;
    for (int j = e0; j >= s0; --j) {
        const size_t x = off + (size_t)j * HA_N + n;
        k[x] = bbar[x] * r;
        r = r * abar[x];
    }
    blockprod[((size_t)ch * nblocks + blk) * HA_N + n] = r;
}

// One thread block per (channel, row tile I), HA_ATT_THREADS threads = 8 warps; warp w owns
// rows w, w + 8, w + 16, w + 24 of the tile, lane l owns column l.
//   1. the tile's q, Abar and C go to shared memory (one barrier, the only one);
//   2. the upper triangle right of the diagonal tile is zeroed with 16-byte streaming stores;
//   3. warp 0 computes the diagonal tile by running products down each column
//      (lane = column j: w = Bbar_j * Abar_{j+1} * ... * Abar_i, alpha~_ij = <C_i, w>);
//   4. every warp walks the earlier column tiles J right to left with no barrier: the key
//      of its column is read straight from global memory (L1), scaled by G_{IJ} held in
//      registers (kg = k * G), and dotted with the four queries read from shared memory
//      as float4 broadcasts; G then grows by the product over tile J.
// Stores are 128 contiguous bytes per warp and streaming (__stcs): the output is written
// once and should not evict q, k and the tile products from L2.
extern "C" __global__ void __launch_bounds__(HA_ATT_THREADS) attention_tiles(
    const float* abar, const float* bbar, const float* c,
    const float* q, const float* k, const float* blockprod,
    int channels, int L, int N, float* alpha)
{
    __shared__ __align__(16) float qs[HA_TILE][HA_NP];
    __shared__ __align__(16) float as[HA_TILE][HA_NP];
    __shared__ __align__(16) float cs[HA_TILE][HA_NP];

    const int nblocks = (L + HA_TILE - 1) / HA_TILE;
    const int I = blockIdx.x % nblocks;
    const long long ch = blockIdx.x / nblocks;
    if (ch >= channels || N != HA_N) return;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int sI = I * HA_TILE;
    const int rows = min(HA_TILE, L - sI);
    const size_t off = (size_t)ch * L * HA_N;
    float* out = alpha + (size_t)ch * L * L;

    // 1. the row tile: queries, Abar and C (zero past the last row and in the padding)
    for (int r = warp; r < HA_TILE; r += HA_ATT_WARPS) {
        for (int n = lane; n < HA_NP; n += 32) {
            const int in = r < rows && n < HA_N;
            const size_t x = off + (size_t)(sI + r) * HA_N + n;
            qs[r][n] = in ? q[x] : 0.0f;
            as[r][n] = in ? abar[x] : 0.0f;
            cs[r][n] = in ? c[x] : 0.0f;
        }
    }

    // 2. zeros right of the diagonal tile (needs no shared memory: before the barrier)
    const int zc = sI + HA_TILE;
    if (zc < L) {
        const int width = L - zc;
        if ((L & 3) == 0) {
            // every row of every channel starts 16-byte aligned
            const float4 zero4 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            for (int r = warp; r < rows; r += HA_ATT_WARPS) {
                float4* row = (float4*)(out + (size_t)(sI + r) * L + zc);
                for (int col = lane; col < (width >> 2); col += 32) __stcs(row + col, zero4);
            }
        } else {
            for (int r = warp; r < rows; r += HA_ATT_WARPS) {
                float* row = out + (size_t)(sI + r) * L + zc;
                for (int col = lane; col < width; col += 32) __stcs(row + col, 0.0f);
            }
        }
    }
    __syncthreads();

    // 3. diagonal tile (warp 0): column j = lane, rows i = 0 .. rows - 1 of the tile
    if (warp == 0) {
        const int j = lane;
        float w[HA_NP];
#pragma unroll
        for (int n = 0; n < HA_NP; ++n)
            w[n] = (j < rows && n < HA_N) ? bbar[off + (size_t)(sI + j) * HA_N + n] : 0.0f;
        for (int i = 0; i < rows; ++i) {
            if (i > j) {
#pragma unroll
                for (int n4 = 0; n4 < HA_NP; n4 += 4) {
                    const float4 a = *(const float4*)&as[i][n4];
                    w[n4] = w[n4] * a.x;
                    w[n4 + 1] = w[n4 + 1] * a.y;
                    w[n4 + 2] = w[n4 + 2] * a.z;
                    w[n4 + 3] = w[n4 + 3] * a.w;
                }
            }
            float acc = 0.0f;
#pragma unroll
            for (int n4 = 0; n4 < HA_NP; n4 += 4) {
                const float4 cv = *(const float4*)&cs[i][n4];
                acc += cv.x * w[n4];
                acc += cv.y * w[n4 + 1];
                acc += cv.z * w[n4 + 2];
                acc += cv.w * w[n4 + 3];
            }
            if (j < rows) __stcs(out + (size_t)(sI + i) * L + sI + j, i >= j ? acc : 0.0f);
        }
    }

    // 4. earlier column tiles, right to left; g = G_{IJ}, the product over the whole tiles
    //    strictly between J and I (1 for J = I - 1)
    float g[HA_NP];
#pragma unroll
    for (int n = 0; n < HA_NP; ++n) g[n] = 1.0f;
    // pointers walk left one tile per step: the loop body has no index arithmetic
    const size_t row_step = (size_t)HA_ATT_WARPS * L;
    float* o = out + (size_t)(sI + warp) * L + (size_t)I * HA_TILE + lane;
    const float* kp = k + off + (size_t)I * HA_TILE * HA_N + (size_t)lane * HA_N;
    const float* bp = blockprod + ((size_t)ch * nblocks + I) * HA_N;
    const int full = rows == HA_TILE;
    for (int J = I - 1; J >= 0; --J) {
        o -= HA_TILE;
        kp -= HA_TILE * HA_N;
        bp -= HA_N;
        float kg[HA_NP];
#if HA_N % 4 == 0
        // k rows and tile products start 16-byte aligned when 4 divides N
#pragma unroll
        for (int n4 = 0; n4 < HA_N; n4 += 4) {
            const float4 kv = __ldg((const float4*)(kp + n4));
            kg[n4] = kv.x * g[n4];
            kg[n4 + 1] = kv.y * g[n4 + 1];
            kg[n4 + 2] = kv.z * g[n4 + 2];
            kg[n4 + 3] = kv.w * g[n4 + 3];
        }
#else
#pragma unroll
        for (int n = 0; n < HA_NP; ++n) kg[n] = n < HA_N ? __ldg(kp + n) * g[n] : 0.0f;
#endif
        float acc[HA_TILE / HA_ATT_WARPS];
#pragma unroll
        for (int m = 0; m < HA_TILE / HA_ATT_WARPS; ++m) acc[m] = 0.0f;
#pragma unroll
        for (int n4 = 0; n4 < HA_NP; n4 += 4) {
#pragma unroll
            for (int m = 0; m < HA_TILE / HA_ATT_WARPS; ++m) {
                const float4 qv = *(const float4*)&qs[warp + HA_ATT_WARPS * m][n4];
                acc[m] += qv.x * kg[n4];
                acc[m] += qv.y * kg[n4 + 1];
                acc[m] += qv.z * kg[n4 + 2];
                acc[m] += qv.w * kg[n4 + 3];
            }
        }
#pragma unroll
        for (int m = 0; m < HA_TILE / HA_ATT_WARPS; ++m)
            if (full || warp + HA_ATT_WARPS * m < rows) __stcs(o + m * row_step, acc[m]);
#if HA_N % 4 == 0
#pragma unroll
        for (int n4 = 0; n4 < HA_N; n4 += 4) {
            const float4 b = __ldg((const float4*)(bp + n4));
            g[n4] = g[n4] * b.x;
            g[n4 + 1] = g[n4 + 1] * b.y;
            g[n4 + 2] = g[n4 + 2] * b.z;
            g[n4 + 3] = g[n4 + 3] * b.w;
        }
#else
#pragma unroll
        for (int n = 0; n < HA_N; ++n) g[n] = g[n] * __ldg(bp + n);
#endif
    }
}
