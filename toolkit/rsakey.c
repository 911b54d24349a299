/*
 * rsakey.c: RSA key generation with a sieve in front of Miller-Rabin.
 *
 * Nearly all of an RSA key's time goes to modular exponentiations on
 * candidates that turn out composite.  mbedtls_rsa_gen_key draws a fresh
 * random number per candidate and rules out only those with a factor
 * below 1000 before it exponentiates; about 16% of the odd candidates
 * reach Miller-Rabin.  Here one random start X is drawn per prime and the
 * odd numbers X, X+2, X+4, ... of a window are sieved by every prime below
 * 2^15, which leaves about 11%: a third fewer exponentiations (the search
 * by increments is what OpenSSL does too).  Whether a survivor is prime is
 * still decided by mbedtls_mpi_is_prime_ext, with the Miller-Rabin rounds
 * mbedtls uses for keys above 1024 bits (error below 2^-100, HAC 4.48);
 * the key then gets every check of mbedtls_rsa_gen_key: |P-Q| above
 * 2^(nbits/2-100), E invertible, D above 2^(nbits/2), and
 * mbedtls_rsa_check_privkey.  Every secret intermediate is wiped.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/rsa.h>

#include "extern.h"
#include "pki.h"

#define SIEVE_BOUND	32768		/* sieve by the primes below */
#define SIEVE_NPRIMES	3512		/* pi(32768) */
#define SIEVE_WINDOW	4096		/* odd candidates per random start */
#define MAX_STARTS	64		/* random starts before giving up */

static uint16_t		 small_primes[SIEVE_NPRIMES];	/* 3 .. 32749 */
static size_t		 nsmall;
static pthread_once_t	 small_once = PTHREAD_ONCE_INIT;

/* The odd primes below SIEVE_BOUND, by Eratosthenes, once per process. */
static void
small_primes_init(void)
{
	static unsigned char	 composite[SIEVE_BOUND];
	size_t			 i, j;

	for (i = 3; i < SIEVE_BOUND; i += 2) {
		if (composite[i])
			continue;
		if (nsmall < SIEVE_NPRIMES)
			small_primes[nsmall++] = (uint16_t)i;
		for (j = i * i; j < SIEVE_BOUND; j += 2 * i)
			composite[j] = 1;
	}
}

/* Miller-Rabin rounds for an error below 2^-100 (mbedtls' LOW_ERR table). */
static int
mr_rounds(size_t bits)
{
	return bits >= 1450 ? 4 : bits >= 1150 ? 5 : bits >= 1000 ? 6 : 7;
}

/*
 * A random odd start of `bits` bits (bits a multiple of 8) not below
 * sqrt(2) * 2^(bits-1), so that the product of two such primes has
 * exactly 2*bits bits (FIPS 186-4 B.3.3): the top 64 bits at least
 * ceil(2^63.5).
 */
static int
random_start(mbedtls_mpi *x, size_t bits,
    int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	static const unsigned char bound[8] = {
		0xb5, 0x04, 0xf3, 0x33, 0xf9, 0xde, 0x64, 0x85 };
	unsigned char	 b[MBEDTLS_MPI_MAX_SIZE];
	size_t		 len = bits / 8;
	int		 rc;

	do {
		if ((rc = f_rng(p_rng, b, len)) != 0)
			goto out;
	} while (memcmp(b, bound, sizeof(bound)) < 0);
	b[len - 1] |= 1;
	rc = mbedtls_mpi_read_binary(x, b, len);
out:
	wipe(b, len);
	return rc;
}

/* A probable prime of `bits` bits into p. */
static int
gen_prime(mbedtls_mpi *p, size_t bits,
    int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	unsigned char		 marked[SIEVE_WINDOW];
	mbedtls_mpi		 x;
	mbedtls_mpi_uint	 r;
	size_t			 i, k, k0, q, start;
	int			 rc;

	mbedtls_mpi_init(&x);
	for (start = 0; start < MAX_STARTS; start++) {
		if ((rc = random_start(&x, bits, f_rng, p_rng)) != 0)
			goto out;
		/*
		 * marked[k]: x + 2k has a small factor.  For a prime q with
		 * x = r (mod q) that is k = (q - r) / 2 (mod q), and every
		 * q-th k after it; 2 is inverted mod q by (q + 1) / 2.
		 */
		memset(marked, 0, sizeof(marked));
		for (i = 0; i < nsmall; i++) {
			q = small_primes[i];
			if ((rc = mbedtls_mpi_mod_int(&r, &x, q)) != 0)
				goto out;
			k0 = ((q - r) % q) * ((q + 1) / 2) % q;
			for (k = k0; k < SIEVE_WINDOW; k += q)
				marked[k] = 1;
		}
		for (k = 0; k < SIEVE_WINDOW; k++) {
			if (marked[k])
				continue;
			if ((rc = mbedtls_mpi_add_int(p, &x, 2 * k)) != 0)
				goto out;
			if (mbedtls_mpi_bitlen(p) != bits)
				break;		/* ran over the top: start anew */
			rc = mbedtls_mpi_is_prime_ext(p, mr_rounds(bits), f_rng,
			    p_rng);
			if (rc != MBEDTLS_ERR_MPI_NOT_ACCEPTABLE)
				goto out;	/* prime (0) or an error */
		}
	}
	rc = MBEDTLS_ERR_MPI_NOT_ACCEPTABLE;	/* not in 64 windows: no luck */
out:
	wipe(marked, sizeof(marked));
	r = 0;
	mbedtls_mpi_free(&x);		/* wipes */
	return rc;
}

int
rsa_genkey(mbedtls_rsa_context *rsa, unsigned int nbits, int exponent,
    int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	mbedtls_mpi	 p, q, e, d, h;
	int		 rc, tries;

	if (nbits < 2048 || nbits % 128 != 0 ||
	    nbits / 2 > MBEDTLS_MPI_MAX_BITS)
		return mbedtls_rsa_gen_key(rsa, f_rng, p_rng, nbits, exponent);
	(void)pthread_once(&small_once, small_primes_init);
	mbedtls_mpi_init(&p);
	mbedtls_mpi_init(&q);
	mbedtls_mpi_init(&e);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&h);
	if ((rc = mbedtls_mpi_lset(&e, exponent)) != 0)
		goto out;
	/* a retry is rare (E divides P-1 once in 65537 primes) */
	for (tries = 0;; tries++) {
		if (tries == 16) {
			rc = MBEDTLS_ERR_RSA_KEY_GEN_FAILED;
			goto out;
		}
		if ((rc = gen_prime(&p, nbits / 2, f_rng, p_rng)) != 0 ||
		    (rc = gen_prime(&q, nbits / 2, f_rng, p_rng)) != 0 ||
		    (rc = mbedtls_mpi_sub_mpi(&h, &p, &q)) != 0)
			goto out;
		/* |P-Q| > 2^(nbits/2-100) (FIPS 186-4 B.3.3 5.4) */
		if (mbedtls_mpi_bitlen(&h) <= nbits / 2 - 99)
			continue;
		if (mbedtls_mpi_cmp_int(&h, 0) < 0)
			mbedtls_mpi_swap(&p, &q);	/* P > Q, as mbedtls */
		/* N, D = E^-1 mod lcm(P-1, Q-1) and the CRT values */
		if ((rc = mbedtls_rsa_import(rsa, NULL, &p, &q, NULL,
		    &e)) != 0)
			goto out;
		rc = mbedtls_rsa_complete(rsa);
		if (rc == 0)
			rc = mbedtls_rsa_export(rsa, NULL, NULL, NULL, &d,
			    NULL);
		/* E not invertible, or D not above 2^(nbits/2): again */
		if (rc != 0 || mbedtls_mpi_bitlen(&d) <= (nbits + 1) / 2) {
			mbedtls_rsa_free(rsa);
			mbedtls_rsa_init(rsa);
			continue;
		}
		break;
	}
	rc = mbedtls_rsa_check_privkey(rsa);
out:
	mbedtls_mpi_free(&p);
	mbedtls_mpi_free(&q);
	mbedtls_mpi_free(&e);
	mbedtls_mpi_free(&d);
	mbedtls_mpi_free(&h);
	if (rc != 0) {
		mbedtls_rsa_free(rsa);
		mbedtls_rsa_init(rsa);
	}
	return rc;
}
