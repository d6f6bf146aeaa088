/* For the shifted-clock test runs only (scripts/shifted-clock-tests.sh), preloaded in front of libfaketime.

   libfaketime 0.9.10 (Debian 12) shifts CLOCK_MONOTONIC but does not wrap sem_clockwait, which CPython
   3.11 uses for every lock and Event wait with a timeout: Python computes the deadline on the shifted
   clock, glibc compares it with the real one, and the wait never ends. This wrapper moves the deadline
   back onto the real clock (the shift is constant: libfaketime runs the clock at normal speed from an
   offset) and calls glibc's own sem_clockwait. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*sem_clockwait_fn)(sem_t *, clockid_t, const struct timespec *);

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime) {
    static sem_clockwait_fn real;
    if (!real) real = (sem_clockwait_fn)dlsym(RTLD_NEXT, "sem_clockwait");
    struct timespec shifted, actual;
    clock_gettime(clock, &shifted);                 /* through libfaketime */
    syscall(SYS_clock_gettime, clock, &actual);     /* straight from the kernel */
    long long ns = (abstime->tv_sec - shifted.tv_sec) * 1000000000LL + (abstime->tv_nsec - shifted.tv_nsec)
                   + actual.tv_sec * 1000000000LL + actual.tv_nsec;
    struct timespec deadline = {ns / 1000000000LL, ns % 1000000000LL};
    return real(sem, clock, &deadline);
}
