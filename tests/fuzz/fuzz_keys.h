// Generated from keys/jwks.json: the fuzz-only public keys jws_fuzz verifies with.
#pragma once

namespace portico::fuzz {

inline constexpr const char* kFuzzJwks = R"({"keys":[{"kty":"RSA","kid":"fuzz-rsa","use":"sig","n":"gynBx-7JAx5Qcq9GKFpgTTyMgciDeJ8L097UDoMdm-P8ZqS2b_5LFxOI6uGzIFYbBbbn62a-_wvC0Vv1E9Nu4EYtibQz2ImAMF1Q2vYwsifE9ltsLj7ghB2QO8Gku-Pb3wfOfnoPRvyYLrvp4yWZKOkLt25B8HtfJysRVyLCteZc6SAVYmC4fK_lgKBpSC1ZJI4n3xziQ36KD8FVlKQbZOlQEKdGTJrD70nNF4awLsLWpBxHmnM7YPghKOtE1KZ1jF43KC0PpnZkI2OvZJdhKPV7NAi86EVzJGXJya3H2qyEmngqAl8BFivdsxGy0juzJkuoaTeqloDhZRGyn1noOw","e":"AQAB"},{"kty":"EC","kid":"fuzz-p256","crv":"P-256","x":"vG67RTRwyHM6suNt1Si6xYELoQA8FnILi3-dkZT70x4","y":"gCXD_CorONXqX_tieBQiJviJhawWE5aYKUlwdEh5_68"},{"kty":"EC","kid":"fuzz-p384","crv":"P-384","alg":"ES384","x":"2tmRbGedNLSKhym5CBVbyqcunFcICuWKYfryUV_v-Dr4U4N5WG8DYEoXxPryg7oQ","y":"yZdSAehwn95mo6h4NIASdVFl5kAt-HAb9xJBRofpSA2KyBlr8ylcQrQpIPsI7HYS"}]})";

}  // namespace portico::fuzz
