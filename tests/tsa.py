"""A real RFC 3161 timestamp authority on 127.0.0.1, for tests: it holds no tests.

``LocalTSA`` generates a self-signed test CA and a TSA certificate (critical extendedKeyUsage
timeStamping) issued by it, then answers ``application/timestamp-query`` POSTs with genuinely
signed ``TimeStampResp`` messages: a CMS SignedData over a TSTInfo with the request's imprint
and nonce, signed attributes (content type, message digest, ESS signing-certificate-v2) and an
ECDSA signature. Any RFC 3161 client (``openssl ts -verify`` too) accepts its replies when
given ``ca_pem`` as the trusted root.

Behaviours for failure tests: ``mode`` = ``ok`` | ``reject`` (PKIStatus rejection) |
``http-500`` | ``garbage`` (a non-ASN.1 body); ``credentials`` = (user, password) makes it
demand HTTP basic authentication.
"""

import base64
import datetime
import hashlib
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TEST_POLICY_OID = "1.3.6.1.4.1.55555.1.1"  # a private-arc OID: this TSA's (test) policy


def make_ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA key and certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_tsa_cert(ca_key, ca_cert, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A TSA key and certificate issued by the CA, with the critical timeStamping EKU RFC 3161 asks for."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


class _Refusal(core.Sequence):
    """A TimeStampResp without a token (asn1crypto's own class wrongly requires one)."""

    _fields: ClassVar = [("status", tsp.PKIStatusInfo)]


def _status(status: str, text: str | None = None) -> tsp.PKIStatusInfo:
    info = {"status": status}
    if text:
        info["status_string"] = [text]
    return tsp.PKIStatusInfo(info)


def sign_response(request_der: bytes, key, cert: x509.Certificate, serial: int,
                  gen_time: datetime.datetime | None = None) -> bytes:
    """A granted ``TimeStampResp`` (DER) for a DER ``TimeStampReq``, signed with ``key``."""
    request = tsp.TimeStampReq.load(request_der)
    tst_info = {
        "version": "v1",
        "policy": TEST_POLICY_OID,
        "message_imprint": request["message_imprint"],
        "serial_number": serial,
        "gen_time": (gen_time or datetime.datetime.now(datetime.UTC)).replace(microsecond=0),
        "accuracy": {"seconds": 1},
    }
    if request["nonce"].native is not None:
        tst_info["nonce"] = request["nonce"]
    tst_der = tsp.TSTInfo(tst_info).dump()
    cert_der = _der(cert)
    asn1_cert = asn1_x509.Certificate.load(cert_der)
    signed_attrs = cms.CMSAttributes([
        {"type": "content_type", "values": ["tst_info"]},
        {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
        {"type": "signing_certificate_v2", "values": [{"certs": [{
            "hash_algorithm": {"algorithm": "sha256"},
            "cert_hash": hashlib.sha256(cert_der).digest(),
            "issuer_serial": {"issuer": [asn1_x509.GeneralName({"directory_name": asn1_cert.issuer})],
                              "serial_number": asn1_cert.serial_number},
        }]}]},
    ])
    # CMS signs the DER of the signed attributes as a SET OF (RFC 5652 §5.4).
    signature = key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
            "issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number}}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": signed_attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        "signature": signature,
    })
    signed_data = {
        "version": "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "tst_info",
                               "content": core.ParsableOctetString(tst_der)},
        "signer_infos": [signer_info],
    }
    if request["cert_req"].native:
        signed_data["certificates"] = [asn1_cert]
    token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
    return tsp.TimeStampResp({"status": _status("granted"), "time_stamp_token": token}).dump()


class LocalTSA:
    """A threaded RFC 3161 TSA over HTTP on 127.0.0.1; ``start()``, then use ``url``."""

    def __init__(self, directory: Path, *, name: str = "policywatch test TSA"):
        self.ca_key, self.ca_cert = make_ca(f"{name} root CA")
        self.key, self.cert = make_tsa_cert(self.ca_key, self.ca_cert, name)
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_pem = directory / "tsa-ca.pem"
        self.ca_pem.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self.mode = "ok"
        self.credentials: tuple[str, str] | None = None
        self.requests: list[dict] = []
        self._serials = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                tsa.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if tsa.credentials and self.headers.get("Authorization") != _basic(*tsa.credentials):
                    self._answer(401, b"authentication required", "text/plain")
                    return
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self._answer(415, b"expected application/timestamp-query", "text/plain")
                    return
                if tsa.mode == "http-500":
                    self._answer(500, b"internal error", "text/plain")
                elif tsa.mode == "garbage":
                    self._answer(200, b"this is not DER", "application/timestamp-reply")
                elif tsa.mode == "reject":
                    reply = _Refusal({"status": _status("rejection", "policy not supported")})
                    self._answer(200, reply.dump(), "application/timestamp-reply")
                else:
                    reply = sign_response(body, tsa.key, tsa.cert, next(tsa._serials))
                    self._answer(200, reply, "application/timestamp-reply")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._handler = Handler

    def start(self) -> "LocalTSA":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsa"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
