/*
 * genkeys.c: many keys at once, one worker thread per online CPU.
 *
 * A renewal needs a dozen new RSA keys and finding their primes is nearly
 * all of its time (seconds on a slow or emulated CPU, more for 4096 bits),
 * while the rest is milliseconds.  The keys do not depend on each other,
 * so workers take the next key to make from a shared counter.  Each worker
 * has its own entropy source and CTR-DRBG: mbedTLS contexts are not shared
 * between threads (the library is built without MBEDTLS_THREADING_C).
 */
#include <err.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>

#include "extern.h"
#include "pki.h"

#define GENKEYS_MAXTHREADS	16

struct genkeys {
	const enum pki_keytype	*types;
	mbedtls_pk_context	*keys;
	size_t			 n;
	size_t			 next;	/* the next key to make */
	int			 failed;
	pthread_mutex_t		 lock;
};

/* The next key's index under the lock; n when done or after a failure. */
static size_t
take(struct genkeys *g)
{
	size_t	 i;

	pthread_mutex_lock(&g->lock);
	i = g->failed ? g->n : g->next;
	if (i < g->n)
		g->next++;
	pthread_mutex_unlock(&g->lock);
	return i;
}

static void *
worker(void *arg)
{
	static const char	 pers[] = "krescue genkeys";
	struct genkeys		*g = arg;
	mbedtls_entropy_context	 entropy;
	mbedtls_ctr_drbg_context drbg;
	size_t			 i;
	int			 rc;

	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	    (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc != 0)
		warnx("random generator: seeding failed (-0x%04x)",
		    (unsigned int)-rc);
	while (rc == 0 && (i = take(g)) < g->n)
		if (pki_genkey_rng(g->types[i], &g->keys[i],
		    mbedtls_ctr_drbg_random, &drbg) == -1)
			rc = -1;
	if (rc != 0) {
		pthread_mutex_lock(&g->lock);
		g->failed = 1;
		pthread_mutex_unlock(&g->lock);
	}
	/* both free functions wipe the generator's state */
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return NULL;
}

int
pki_genkeys(const enum pki_keytype *types, mbedtls_pk_context *keys,
    size_t n)
{
	struct genkeys	 g;
	pthread_t	 tid[GENKEYS_MAXTHREADS];
	long		 cpus;
	size_t		 i, nthreads, started = 0;

	if (n == 0)
		return 0;
	memset(&g, 0, sizeof(g));
	g.types = types;
	g.keys = keys;
	g.n = n;
	if (pthread_mutex_init(&g.lock, NULL) != 0) {
		warnx("key generation: cannot create a lock");
		return -1;
	}
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = cpus < 1 ? 1 : (size_t)cpus;
	if (nthreads > n)
		nthreads = n;
	if (nthreads > GENKEYS_MAXTHREADS)
		nthreads = GENKEYS_MAXTHREADS;
	/* this thread is a worker too; the others are extra */
	for (i = 1; i < nthreads; i++) {
		if (pthread_create(&tid[started], NULL, worker, &g) != 0)
			break;	/* fewer threads, same result */
		started++;
	}
	(void)worker(&g);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&g.lock);
	if (g.failed) {
		for (i = 0; i < n; i++) {
			mbedtls_pk_free(&keys[i]);
			mbedtls_pk_init(&keys[i]);
		}
		return -1;
	}
	return 0;
}
