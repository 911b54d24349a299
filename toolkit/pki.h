/*
 * pki.h: key generation and certificate signing, the way kubeadm (Go
 * crypto/x509) does it.  Pure mbedTLS, no file I/O.
 *
 * Every function returns 0 on success and -1 on failure.  pki_sign()
 * puts the reason in `why`; pki_keytype() and pki_keytype_parse() are
 * silent; the others report with warnx(3).
 */
#ifndef KRESCUE_PKI_H
#define KRESCUE_PKI_H

#include <stddef.h>
#include <time.h>

#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

struct buf;

/* kubeadm's encryptionAlgorithm values. */
enum pki_keytype {
	PKI_RSA2048,
	PKI_RSA3072,
	PKI_RSA4096,
	PKI_EC256,
	PKI_EC384
};

#define PKI_MAXORG	8
#define PKI_MAXSAN	32

/*
 * One CTR-DRBG seeded from the entropy source, shared by every call.
 * pki_rng_init() is idempotent; pki_genkey() and pki_sign() call it.
 */
int	 pki_rng_init(void);
void	 pki_rng_free(void);

/* The type of an existing key; -1 for anything kubeadm cannot make. */
int	 pki_keytype(const mbedtls_pk_context *, enum pki_keytype *);
/* "RSA-2048" "RSA-3072" "RSA-4096" "ECDSA-P256" "ECDSA-P384"; "" = RSA-2048. */
int	 pki_keytype_parse(const char *, enum pki_keytype *);
const char *pki_keytype_name(enum pki_keytype);

/* A fresh key into an initialised, empty context (left empty on failure). */
int	 pki_genkey(enum pki_keytype, mbedtls_pk_context *);
/* The same with the caller's random generator (one per thread). */
int	 pki_genkey_rng(enum pki_keytype, mbedtls_pk_context *,
	    int (*)(void *, unsigned char *, size_t), void *);
/*
 * An RSA key as mbedtls_rsa_gen_key makes it, with every one of its
 * checks, but found faster (rsakey.c); an mbedtls error code.
 */
int	 rsa_genkey(mbedtls_rsa_context *, unsigned int, int,
	    int (*)(void *, unsigned char *, size_t), void *);
/*
 * n fresh keys of the given types into n initialised, empty contexts, made
 * side by side on up to one thread per online CPU (RSA key generation is
 * most of a renewal's time).  On failure every context is left empty.
 */
int	 pki_genkeys(const enum pki_keytype *, mbedtls_pk_context *, size_t);
/*
 * Keys of the given types made now with pki_genkeys, for the calls of
 * pki_genkey that follow (each takes one of its type; when none is left
 * it makes one); pki_pool_free (pki_rng_free calls it) wipes the rest.
 */
int	 pki_prefill(const enum pki_keytype *, size_t);
void	 pki_pool_free(void);

/*
 * PEM encodings as kubeadm writes them: "RSA PRIVATE KEY" (PKCS#1) or
 * "EC PRIVATE KEY" (SEC1); "PUBLIC KEY" (PKIX) for sa.pub; "CERTIFICATE".
 * The output replaces *out (free with buf_free, which wipes); scratch
 * copies of private keys are wiped.
 */
int	 pki_key_pem(const mbedtls_pk_context *, struct buf *);
int	 pki_pubkey_pem(const mbedtls_pk_context *, struct buf *);
int	 pki_cert_pem(const mbedtls_x509_crt *, struct buf *);

/*
 * A subject built from strings: one RDN holding every O (Go puts all
 * Organization values in one SET, sorted as DER requires), then one RDN
 * with the CN; an empty list or CN is left out.  PrintableString when
 * every character allows it, else UTF8String (Go encoding/asn1).
 */
struct pki_name {
	const char	*org[PKI_MAXORG];
	int		 norg;
	const char	*cn;
};

/*
 * What to sign.
 *
 * Renew (like != NULL), which is what kubeadm's certToConfig +
 * NewSignedCert do:
 *   - subject: like's raw subject DER, byte for byte;
 *   - SAN: like's DNS names and IP addresses (other kinds dropped), then
 *     kubeadm's RemoveDuplicateAltNames (DNS sorted and unique, IPs
 *     unique in first-seen order, IPv4 as 4 bytes) -- identical bytes
 *     for a certificate kubeadm wrote;
 *   - EKU: like's OIDs, in order, non-critical;
 *   - key usage and basic constraints: like's, as they are (present or
 *     not, criticality, value); for a kubeadm certificate that is
 *     kubeadm's template anyway, and it keeps the kubelet's
 *     DigitalSignature-only usage, kubeadm 1.20's certificates without
 *     basic constraints and Kubespray's etcd certificates as they were.
 *   subject, dns, ip, server_auth and client_auth are ignored.
 *
 * Init (like == NULL): subject, dns/ip, server_auth/client_auth; SANs
 * normalised as above.  A CA with no dns/ip gets DNS:<CN>.
 *
 * Always: v3; key usage critical (DigitalSignature|KeyEncipherment, plus
 * CertSign for a CA); basic constraints critical (CA:TRUE without
 * pathlen, or CA:FALSE); SKI only for a CA: SHA-1 of the public key, or
 * like's SKI when like has the same public key (CA re-issue); AKI
 * = issuer's SKI (keyid only) when issuer and subject differ and the
 * issuer has one; SAN critical only when the subject is empty.
 * Extension order as Go: KU, EKU, BC, SKI, AKI, SAN.
 * not_before/not_after: UTCTime for 1950..2049, else GeneralizedTime.
 * serial: big-endian magnitude (1..20 bytes, not zero); NULL = random in
 * [1, 2^63-1) as kubeadm.
 */
struct pki_spec {
	const mbedtls_x509_crt	*like;
	struct pki_name		 subject;
	const char		*dns[PKI_MAXSAN];
	int			 ndns;
	const char		*ip[PKI_MAXSAN];	/* IPv4/IPv6 text */
	int			 nip;
	int			 server_auth;
	int			 client_auth;
	int			 is_ca;
	time_t			 not_before;
	time_t			 not_after;
	const unsigned char	*serial;
	size_t			 serial_len;
	/* init for old kubeadm (<= 1.21): no basic constraints on leaves,
	 * no DNS:<CN> on CAs (as kubeadm 1.20 wrote them) */
	int			 legacy;
};

/*
 * Sign a certificate for subject_key's public key.
 * ca/ca_key: the issuer; ca_key must be ca's private key and ca a CA.
 * ca == NULL (and ca_key ignored): self-signed with subject_key, which
 * then must be private and spec->is_ca set.
 * Signature: sha256WithRSAEncryption for any RSA issuer key,
 * ecdsa-with-SHA256 for P-256, ecdsa-with-SHA384 for P-384.
 * The issuer name is ca's raw subject DER, byte for byte (Go finds the
 * parent by these bytes).  The result is parsed back and its signature
 * checked before it is returned in *pem_out (PEM "CERTIFICATE").
 * The keys are not const: signing updates RSA blinding state.
 */
int	 pki_sign(const struct pki_spec *, mbedtls_pk_context *subject_key,
	    const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
	    struct buf *pem_out, char *why, size_t whylen);

/*
 * A new leaf in one step: a fresh key of `type`, the certificate signed
 * by ca/ca_key, both as PEM (the key in kubeadm's type; free with
 * buf_free, which wipes).  Every failure, key steps included, puts its
 * reason in `why`.
 */
int	 pki_issue(const struct pki_spec *, enum pki_keytype,
	    const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
	    struct buf *cert_pem, struct buf *key_pem, char *why,
	    size_t whylen);

#endif /* KRESCUE_PKI_H */
