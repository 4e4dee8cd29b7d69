/* The memory of every column buffer and every buffer handed to Arrow: see
   _buffers.h for what it does and why.  Compiled into jetliner._decoder only (the
   pool is one per process: a second copy in another extension would be a second
   pool). */

#define _GNU_SOURCE  /* mremap */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <pthread.h>
#endif
#if defined(__GLIBC__)
#include <malloc.h>  /* malloc_trim */
#endif

#include <errno.h>
#if !defined(_WIN32)
#include <unistd.h>  /* pread */
#endif
#include "_buffers.h"

#define JL_HDR 64                     /* header before each buffer (keeps mappings 64-byte aligned) */
#define JL_PAGE ((size_t)4096)
#define JL_NCLASS 64

typedef struct jl_hdr {
    size_t size;          /* usable bytes */
    size_t mapped;        /* length of the mapping, 0 for a heap buffer */
    struct jl_hdr* cprev; /* pool: list of its size class */
    struct jl_hdr* cnext;
    struct jl_hdr* aprev; /* pool: all pooled mappings, newest first */
    struct jl_hdr* anext;
} jl_hdr;

#if defined(__linux__)
/* A mapping is 2^k usable bytes plus one page that holds the header, so
   the power-of-two capacities the decoder asks for fit exactly; class k. */
static pthread_mutex_t jl_lock = PTHREAD_MUTEX_INITIALIZER;
static jl_hdr* jl_class_head[JL_NCLASS];
static jl_hdr* jl_age_head = NULL;
static jl_hdr* jl_age_tail = NULL;
static size_t jl_pooled = 0;
static size_t jl_pool_limit = (size_t)32 << 20;
static int64_t jl_nmaps = 0;       /* live mappings, pooled ones included */
static int jl_refuse_maps = 0;     /* tests: act as if every mmap and mremap failed */
static int jl_atfork_done = 0;

static void jl_lock_all(void) { pthread_mutex_lock(&jl_lock); }
static void jl_unlock_all(void) { pthread_mutex_unlock(&jl_lock); }

static int jl_log2(size_t m) { return 63 - __builtin_clzll((unsigned long long)m); }
static int jl_class_of(jl_hdr* h) { return jl_log2(h->mapped - JL_PAGE); }

/* The class holding `n` usable bytes; -1 if too large. */
static int jl_class_for(size_t n) {
    int k = JL_BIG_LOG;
    while (k < 62 && ((size_t)1 << k) < n)
        k++;
    return k < 62 ? k : -1;
}

static void jl_unlink(jl_hdr* h, int k) {  /* lock held */
    if (h->cprev) h->cprev->cnext = h->cnext; else jl_class_head[k] = h->cnext;
    if (h->cnext) h->cnext->cprev = h->cprev;
    if (h->aprev) h->aprev->anext = h->anext; else jl_age_head = h->anext;
    if (h->anext) h->anext->aprev = h->aprev; else jl_age_tail = h->aprev;
    jl_pooled -= h->mapped;
}

/* Unlink the oldest pooled mappings until the pool fits `limit`; return them. */
static jl_hdr* jl_evict(size_t limit) {  /* lock held */
    jl_hdr* drop = NULL;
    while (jl_pooled > limit && jl_age_tail != NULL) {
        jl_hdr* h = jl_age_tail;
        jl_unlink(h, jl_class_of(h));
        h->cnext = drop;
        drop = h;
    }
    return drop;
}

static void jl_munmap_list(jl_hdr* h) {
    while (h != NULL) {
        jl_hdr* next = h->cnext;
        munmap((char*)h - (JL_PAGE - JL_HDR), h->mapped);
        __atomic_sub_fetch(&jl_nmaps, 1, __ATOMIC_RELAXED);
        h = next;
    }
}

/* A mapping of class k or k + 1, from the pool or fresh (*fresh: known zero). */
static jl_hdr* jl_map(int k, int* fresh) {
    jl_hdr* h = NULL;
    pthread_mutex_lock(&jl_lock);
    if (!jl_atfork_done) {
        jl_atfork_done = 1;
        pthread_atfork(jl_lock_all, jl_unlock_all, jl_unlock_all);
    }
    for (int j = k; j <= k + 1 && j < JL_NCLASS && h == NULL; j++) {
        h = jl_class_head[j];
        if (h != NULL)
            jl_unlink(h, j);
    }
    pthread_mutex_unlock(&jl_lock);
    if (h != NULL) {
        *fresh = 0;
        return h;
    }
    size_t m = ((size_t)1 << k) + JL_PAGE;
    if (__atomic_load_n(&jl_refuse_maps, __ATOMIC_RELAXED))
        return NULL;
    void* p = mmap(NULL, m, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    __atomic_add_fetch(&jl_nmaps, 1, __ATOMIC_RELAXED);
    *fresh = 1;
    h = (jl_hdr*)((char*)p + JL_PAGE - JL_HDR);
    h->mapped = m;
    h->size = (size_t)1 << k;
    return h;
}

/* Keep a freed mapping for reuse (newest first), evicting the oldest past the limit. */
static void jl_release(jl_hdr* h) {
    int k = jl_class_of(h);
    jl_hdr* drop;
    pthread_mutex_lock(&jl_lock);
    h->cprev = NULL;
    h->cnext = jl_class_head[k];
    if (h->cnext) h->cnext->cprev = h;
    jl_class_head[k] = h;
    h->aprev = NULL;
    h->anext = jl_age_head;
    if (h->anext) h->anext->aprev = h; else jl_age_tail = h;
    jl_age_head = h;
    jl_pooled += h->mapped;
    drop = jl_evict(jl_pool_limit);
    pthread_mutex_unlock(&jl_lock);
    jl_munmap_list(drop);
}

void jl_set_refuse_maps(int on) { __atomic_store_n(&jl_refuse_maps, on, __ATOMIC_RELAXED); }
void jl_set_pool_limit(size_t n) {
    jl_hdr* drop;
    pthread_mutex_lock(&jl_lock);
    jl_pool_limit = n;
    drop = jl_evict(n);
    pthread_mutex_unlock(&jl_lock);
    jl_munmap_list(drop);
}
void jl_trim(void) {
    jl_hdr* drop;
    pthread_mutex_lock(&jl_lock);
    drop = jl_evict(0);
    pthread_mutex_unlock(&jl_lock);
    jl_munmap_list(drop);
#if defined(__GLIBC__)
    malloc_trim(0);  /* freed heap memory of every arena back to the system */
#endif
}
size_t jl_pool_bytes(void) {
    pthread_mutex_lock(&jl_lock);
    size_t n = jl_pooled;
    pthread_mutex_unlock(&jl_lock);
    return n;
}
int64_t jl_live_maps(void) { return __atomic_load_n(&jl_nmaps, __ATOMIC_RELAXED); }
#else
void jl_set_refuse_maps(int on) { (void)on; }
void jl_set_pool_limit(size_t n) { (void)n; }
void jl_trim(void) {}
size_t jl_pool_bytes(void) { return 0; }
int64_t jl_live_maps(void) { return 0; }
#endif

static void* jl_heap(size_t n, int zero) {
    if (n > SIZE_MAX - JL_HDR)
        return NULL;
    jl_hdr* h = (jl_hdr*)(zero ? calloc(n + JL_HDR, 1) : malloc(n + JL_HDR));
    if (h == NULL)
        return NULL;
    h->size = n;
    h->mapped = 0;
    return (char*)h + JL_HDR;
}

void* jl_buf_alloc(size_t n, int zero) {
#if defined(__linux__)
    if (n >= JL_BIG) {
        int fresh;
        int k = jl_class_for(n);
        if (k < 0)
            return NULL;
        jl_hdr* h = jl_map(k, &fresh);
        if (h != NULL) {
            if (zero && !fresh)
                memset((char*)h + JL_HDR, 0, n);
            return (char*)h + JL_HDR;
        }
        /* no mapping to be had (the process's limit on mappings, say, which
           many wide batches can reach): the heap may still serve it */
    }
#endif
    return jl_heap(n, zero);
}

void jl_buf_free(void* p) {
    if (p == NULL)
        return;
    jl_hdr* h = (jl_hdr*)((char*)p - JL_HDR);
#if defined(__linux__)
    if (h->mapped) {
        jl_release(h);
        return;
    }
#endif
    free(h);
}

/* Grow (or, for heap buffers, shrink) to `n` usable bytes; the contents up
   to the smaller size are kept.  NULL (and `p` untouched) if out of memory. */
void* jl_buf_realloc(void* p, size_t n) {
    if (p == NULL)
        return jl_buf_alloc(n, 0);
    jl_hdr* h = (jl_hdr*)((char*)p - JL_HDR);
#if defined(__linux__)
    if (h->mapped) {
        if (n <= h->size)
            return p;       /* pages of the tail never written cost nothing */
        int k = jl_class_for(n);
        if (k < 0)
            return NULL;
        size_t m = ((size_t)1 << k) + JL_PAGE;
        /* moves the page tables, not the bytes */
        void* q = __atomic_load_n(&jl_refuse_maps, __ATOMIC_RELAXED) ? MAP_FAILED
            : mremap((char*)h - (JL_PAGE - JL_HDR), h->mapped, m, MREMAP_MAYMOVE);
        if (q == MAP_FAILED) {
            /* it cannot grow where it is: copy it to the heap */
            void* g = jl_heap(n, 0);
            if (g == NULL)
                return NULL;
            memcpy(g, p, h->size);
            h->cnext = NULL;
            jl_munmap_list(h);
            return g;
        }
        h = (jl_hdr*)((char*)q + JL_PAGE - JL_HDR);
        h->mapped = m;
        h->size = (size_t)1 << k;
        return (char*)h + JL_HDR;
    }
    if (n >= JL_BIG) {
        void* q = jl_buf_alloc(n, 0);
        if (q == NULL)
            return NULL;
        memcpy(q, p, h->size < n ? h->size : n);
        free(h);
        return q;
    }
#endif
    if (n > SIZE_MAX - JL_HDR)
        return NULL;
    jl_hdr* g = (jl_hdr*)realloc(h, n + JL_HDR);
    if (g == NULL)
        return NULL;
    g->size = n;
    return (char*)g + JL_HDR;
}

size_t jl_pread(int fd, void* buf, size_t n, int64_t offset, int* err) {
    size_t got = 0;
    *err = 0;
#if defined(_WIN32)
    (void)fd; (void)buf; (void)n; (void)offset;
    *err = ENOSYS;
#else
    while (got < n) {
        ssize_t r = pread(fd, (char*)buf + got, n - got, (off_t)(offset + (int64_t)got));
        if (r > 0)
            got += (size_t)r;
        else if (r == 0)
            break;
        else if (errno != EINTR) {
            *err = errno;
            break;
        }
    }
#endif
    return got;
}
