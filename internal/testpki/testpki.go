// Package testpki issues a throw-away certificate authority and the server and client certificates
// that tests need to exercise TLS and mTLS with crypto/x509, written as PEM files the way cert-manager
// or an operator would lay them out (ca.crt, tls.crt, tls.key).
package testpki // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/testpki"

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a CA and the files it issued, all in Dir: ca.crt, tls.crt and tls.key (the server's, named
// as in the Secret cert-manager writes), client.crt and client.key.
type PKI struct {
	Dir string

	CAFile                string // the CA certificate, PEM
	ServerCert, ServerKey string // for 127.0.0.1, ::1 and localhost
	ClientCert, ClientKey string // a client certificate for mTLS, CN "client"

	ca       *x509.Certificate
	caKey    crypto.Signer
	dnsNames []string // the server certificate's names beside localhost
}

// New creates a CA and issues one server certificate (for the loopback addresses, localhost and dnsNames)
// and one client certificate into a temporary directory of t.
func New(t testing.TB, dnsNames ...string) *PKI {
	t.Helper()
	p := &PKI{Dir: t.TempDir(), dnsNames: dnsNames}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "otelcol-gaudi test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caKey = key
	p.CAFile = p.write(t, "ca.crt", "CERTIFICATE", der)
	p.ServerCert, p.ServerKey = p.Issue(t, "tls", x509.ExtKeyUsageServerAuth)
	p.ClientCert, p.ClientKey = p.Issue(t, "client", x509.ExtKeyUsageClientAuth)
	return p
}

// Issue signs a new key for name (a server certificate is valid for 127.0.0.1, ::1 and localhost) and
// writes <name>.crt and <name>.key; issuing the same name again replaces the files, as a renewal does.
// RenewServer does that for the server certificate.
func (p *PKI) Issue(t testing.TB, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.DNSNames = append([]string{"localhost"}, p.dnsNames...)
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// The key first: a reader that sees the new certificate must find its key.
	keyFile = p.write(t, name+".key", "PRIVATE KEY", keyDER)
	certFile = p.write(t, name+".crt", "CERTIFICATE", der)
	return certFile, keyFile
}

// RenewServer issues a new server certificate in place of tls.crt and tls.key and returns it.
func (p *PKI) RenewServer(t testing.TB) *x509.Certificate {
	t.Helper()
	p.Issue(t, "tls", x509.ExtKeyUsageServerAuth)
	pair, err := tls.LoadX509KeyPair(p.ServerCert, p.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	return pair.Leaf
}

// Pool is a certificate pool holding only the CA.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return pool
}

// ClientTLS is a client configuration that trusts only the CA; withCert adds the client certificate.
func (p *PKI) ClientTLS(t testing.TB, withCert bool) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.Pool(), MinVersion: tls.VersionTLS12}
	if withCert {
		pair, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func (p *PKI) write(t testing.TB, name, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.Dir, name)
	// Written beside and renamed, so a reloading server never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(fmt.Errorf("serial number: %w", err))
	}
	return n
}
