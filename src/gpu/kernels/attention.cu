// Chunked hidden attention: the full L x L matrix alpha~ of many channels.
//   abar, bbar, c: (channels, L, N) row-major; alpha: (channels, L, L) row-major.
// Positions are cut into blocks of HA_TILE steps. For i in row block I (first step s_I)
// and j in an earlier column block J (last step e_J), the product over (j, i] splits into
//   prod_{s_I..i} Abar  *  prod_{e_J+1..s_I-1} Abar  *  prod_{j+1..e_J} Abar
//   = (within-block prefix)  *  G_{I,J} (whole blocks between)  *  (within-block suffix)
// so alpha~_ij = sum_n q_{i,n} G_{I,J,n} k_{j,n} with q = C * prefix, k = Bbar * suffix:
// only products, never a division, and at most (i - j) + 3 roundings per term.
// Diagonal blocks use the direct product; the upper triangle is written as zeros.

#define HA_TILE 32
#define HA_ATT_MAXN 32
#define HA_ATT_THREADS 256

// One thread per (channel, block, state): q (prefix products times C), k (suffix products
// times Bbar) and the product over the whole block.
extern "C" __global__ void attention_prepare(
    const float* abar, const float* bbar, const float* c,
    int channels, int L, int N,
    float* q, float* k, float* blockprod)
{
    const int nblocks = (L + HA_TILE - 1) / HA_TILE;
    const long long id = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (id >= (long long)channels * nblocks * N) return;
    const int n = (int)(id % N);
    const int blk = (int)((id / N) % nblocks);
    const long long ch = id / ((long long)N * nblocks);
    const int s0 = blk * HA_TILE;
    const int e0 = min(s0 + HA_TILE, L) - 1;
    const size_t off = (size_t)ch * L * N;

    float p = 1.0f;
    for (int i = s0; i <= e0; ++i) {
        const size_t x = off + (size_t)i * N + n;
        p = p * abar[x];
        q[x] = c[x] * p;
    }
    float r = 1.0f;
    for (int j = e0; j >= s0; --j) {
        const size_t x = off + (size_t)j * N + n;
        k[x] = bbar[x] * r;
        r = r * abar[x];
    }
    blockprod[((size_t)ch * nblocks + blk) * N + n] = r;
}

// One thread block per (channel, row block I), HA_ATT_THREADS threads: thread (ty, lane)
// computes rows ty, ty + 8, ty + 16, ty + 24 of a tile at column lane, holding the key of
// its column in registers; rows are written 32 floats at a time (coalesced).
extern "C" __global__ void attention_tiles(
    const float* abar, const float* bbar, const float* c,
    const float* q, const float* k, const float* blockprod,
    int channels, int L, int N, float* alpha)
{
    __shared__ float qs[HA_TILE][HA_ATT_MAXN];
    __shared__ float qg[HA_TILE][HA_ATT_MAXN + 1];
    __shared__ float ks[HA_TILE][HA_ATT_MAXN + 1];
    __shared__ float as[HA_TILE][HA_ATT_MAXN + 1];
    __shared__ float g[HA_ATT_MAXN];

    const int nblocks = (L + HA_TILE - 1) / HA_TILE;
    const int I = blockIdx.x % nblocks;
    const long long ch = blockIdx.x / nblocks;
    if (ch >= channels) return;
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int ty = tid >> 5;
    const int sI = I * HA_TILE;
    const int rows = min(HA_TILE, L - sI);
    const size_t off = (size_t)ch * L * N;
    float* out = alpha + (size_t)ch * L * L;

    // the row block's queries; G = 1 (no whole block between I and I - 1)
    for (int idx = tid; idx < HA_TILE * N; idx += blockDim.x) {
        const int r = idx / N, n = idx % N;
        qs[r][n] = r < rows ? q[off + (size_t)(sI + r) * N + n] : 0.0f;
    }
    for (int n = tid; n < N; n += blockDim.x) g[n] = 1.0f;

    // upper triangle right of the diagonal block: zeros
    const int zc = sI + HA_TILE;
    if (zc < L) {
        const int width = L - zc;
        for (long long idx = tid; idx < (long long)rows * width; idx += blockDim.x) {
            const int r = (int)(idx / width), col = (int)(idx % width);
            out[(size_t)(sI + r) * L + zc + col] = 0.0f;
        }
    }

    // diagonal block: direct products (j <= i) from a copy in shared memory
    // (qg holds C and ks holds Bbar of the block until the column loop reuses them)
    for (int idx = tid; idx < HA_TILE * N; idx += blockDim.x) {
        const int r = idx / N, n = idx % N;
        const size_t x = off + (size_t)(sI + r) * N + n;
        as[r][n] = r < rows ? abar[x] : 0.0f;
        qg[r][n] = r < rows ? c[x] : 0.0f;
        ks[r][n] = r < rows ? bbar[x] : 0.0f;
    }
    __syncthreads();
    for (int idx = tid; idx < HA_TILE * HA_TILE; idx += blockDim.x) {
        const int r = idx / HA_TILE, cc = idx % HA_TILE;
        if (r >= rows || cc >= rows) continue;
        float acc = 0.0f;
        if (cc <= r) {
            for (int n = 0; n < N; ++n) {
                float p = qg[r][n];
                for (int kk = r; kk > cc; --kk) p = p * as[kk][n];
                acc += p * ks[cc][n];
            }
        }
        out[(size_t)(sI + r) * L + sI + cc] = acc;
    }
    __syncthreads();

    // earlier column blocks, right to left, G growing by one whole block each time
    for (int J = I - 1; J >= 0; --J) {
        const int sJ = J * HA_TILE;
        for (int idx = tid; idx < HA_TILE * N; idx += blockDim.x) {
            const int r = idx / N, n = idx % N;
            qg[r][n] = qs[r][n] * g[n];
            ks[r][n] = k[off + (size_t)(sJ + r) * N + n];
        }
        __syncthreads();
        float kreg[HA_ATT_MAXN];
#pragma unroll
        for (int n = 0; n < HA_ATT_MAXN; ++n) kreg[n] = n < N ? ks[lane][n] : 0.0f;
#pragma unroll
        for (int m = 0; m < HA_TILE / 8; ++m) {
            const int r = ty + 8 * m;
            float acc = 0.0f;
#pragma unroll
            for (int n = 0; n < HA_ATT_MAXN; ++n)
                if (n < N) acc += qg[r][n] * kreg[n];
            if (r < rows) out[(size_t)(sI + r) * L + sJ + lane] = acc;
        }
        __syncthreads();
        for (int n = tid; n < N; n += blockDim.x) g[n] = g[n] * blockprod[((size_t)ch * nblocks + J) * N + n];
        __syncthreads();
    }
}
