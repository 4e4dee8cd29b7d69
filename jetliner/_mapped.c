/* Read-only mappings of local files, guarded against the file shrinking
   (see _mapped.h). */

#include "_mapped.h"

#if defined(__linux__)

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Registered mappings.  The handler reads them without a lock: a mapping's
   length is stored before its address (release), its address cleared before it
   is unmapped.  A slot is claimed and freed under the lock. */
#define JL_SLOTS 512
static uintptr_t jl_slot_lo[JL_SLOTS];
static size_t jl_slot_len[JL_SLOTS];
static int jl_slot_hit[JL_SLOTS];
static char jl_slot_used[JL_SLOTS];
static int jl_slot_fd[JL_SLOTS];        /* a duplicate of the file's descriptor */
static int64_t jl_slot_end[JL_SLOTS];   /* the file offset just past the bytes */
static int jl_live;
static pthread_mutex_t jl_map_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t jl_map_once = PTHREAD_ONCE_INIT;
static struct sigaction jl_prev_bus;
static int jl_guarded;
static uintptr_t jl_map_page;

static void jl_on_sigbus(int sig, siginfo_t* si, void* context) {
    if (si != NULL && si->si_code > 0) {  /* a fault, not a signal someone sent */
        uintptr_t a = (uintptr_t)si->si_addr;
        for (int i = 0; i < JL_SLOTS; i++) {
            uintptr_t lo = __atomic_load_n(&jl_slot_lo[i], __ATOMIC_ACQUIRE);
            if (lo == 0 || a < lo || a - lo >= __atomic_load_n(&jl_slot_len[i], __ATOMIC_RELAXED))
                continue;
            /* a page of this mapping past the file's new end: zeros in its place */
            void* page = (void*)(a & ~(jl_map_page - 1));
            if (mmap(page, jl_map_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                     -1, 0) == MAP_FAILED)
                break;
            __atomic_store_n(&jl_slot_hit[i], 1, __ATOMIC_RELEASE);
            return;
        }
    }
    /* not one of ours: what the handler before this one would have done */
    if (jl_prev_bus.sa_flags & SA_SIGINFO) {
        if (jl_prev_bus.sa_sigaction != NULL) {
            jl_prev_bus.sa_sigaction(sig, si, context);
            return;
        }
    } else if (jl_prev_bus.sa_handler != SIG_DFL && jl_prev_bus.sa_handler != SIG_IGN) {
        jl_prev_bus.sa_handler(sig);
        return;
    }
    /* the default action: a fault happens again on return and ends the process
       as it would have; a sent signal is sent again */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (si == NULL || si->si_code <= 0)
        raise(sig);
}

static void jl_map_lock_take(void) { pthread_mutex_lock(&jl_map_lock); }
static void jl_map_lock_give(void) { pthread_mutex_unlock(&jl_map_lock); }

static void jl_guard(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = jl_on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    jl_map_page = (uintptr_t)sysconf(_SC_PAGESIZE);
    /* (a child of fork() never inherits the lock taken) */
    pthread_atfork(jl_map_lock_take, jl_map_lock_give, jl_map_lock_give);
    jl_guarded = jl_map_page > 0 && sigaction(SIGBUS, &sa, &jl_prev_bus) == 0;
}

int jl_map_file(int fd, int64_t offset, size_t n, const uint8_t** data, void** base,
                size_t* len, int* slot) {
    struct stat st;
    int i;
    if (n == 0 || offset < 0)
        return -1;
    pthread_once(&jl_map_once, jl_guard);
    if (!jl_guarded || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
            || (uint64_t)st.st_size < (uint64_t)offset + n)
        return -1;
    pthread_mutex_lock(&jl_map_lock);
    for (i = 0; i < JL_SLOTS && jl_slot_used[i]; i++) {}
    if (i < JL_SLOTS) {
        jl_slot_used[i] = 1;
        jl_live++;
    }
    pthread_mutex_unlock(&jl_map_lock);
    if (i == JL_SLOTS)
        return -1;
    int64_t start = offset & ~(int64_t)(jl_map_page - 1);
    size_t m = n + (size_t)(offset - start);
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    void* p = dupfd < 0 ? MAP_FAILED
        : mmap(NULL, m, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)start);
    if (p == MAP_FAILED) {
        int err = errno;
        if (dupfd >= 0)
            close(dupfd);
        pthread_mutex_lock(&jl_map_lock);
        jl_slot_used[i] = 0;
        jl_live--;
        pthread_mutex_unlock(&jl_map_lock);
        return err ? err : -1;
    }
    jl_slot_fd[i] = dupfd;
    jl_slot_end[i] = offset + (int64_t)n;
    __atomic_store_n(&jl_slot_hit[i], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&jl_slot_len[i], m, __ATOMIC_RELAXED);
    __atomic_store_n(&jl_slot_lo[i], (uintptr_t)p, __ATOMIC_RELEASE);
    *data = (const uint8_t*)p + (offset - start);
    *base = p;
    *len = m;
    *slot = i;
    return 0;
}

void jl_unmap_file(void* base, size_t len, int slot) {
    __atomic_store_n(&jl_slot_lo[slot], 0, __ATOMIC_RELEASE);
    munmap(base, len);
    close(jl_slot_fd[slot]);
    pthread_mutex_lock(&jl_map_lock);
    jl_slot_used[slot] = 0;
    jl_live--;
    pthread_mutex_unlock(&jl_map_lock);
}

int jl_map_shrunk(int slot) {
    struct stat st;
    if (__atomic_load_n(&jl_slot_hit[slot], __ATOMIC_ACQUIRE))
        return 1;
    /* a page that lost only its tail stays mapped, the tail zeroed, without a
       fault: the file's size now tells that */
    return fstat(jl_slot_fd[slot], &st) != 0 || (int64_t)st.st_size < jl_slot_end[slot];
}

int jl_map_count(void) {
    pthread_mutex_lock(&jl_map_lock);
    int n = jl_live;
    pthread_mutex_unlock(&jl_map_lock);
    return n;
}

#else

int jl_map_file(int fd, int64_t offset, size_t n, const uint8_t** data, void** base,
                size_t* len, int* slot) {
    (void)fd; (void)offset; (void)n; (void)data; (void)base; (void)len; (void)slot;
    return -1;
}
void jl_unmap_file(void* base, size_t len, int slot) { (void)base; (void)len; (void)slot; }
int jl_map_shrunk(int slot) { (void)slot; return 0; }
int jl_map_count(void) { return 0; }

#endif
