#pragma once
// concur::http: aiohttp's ClientSession and web server, requests' blocking API.
#include "concur/http/client.hpp"
#include "concur/http/client_session.hpp"
#include "concur/http/compression.hpp"
#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/parser.hpp"
#include "concur/http/response.hpp"
#include "concur/http/sync.hpp"
#include "concur/http/url.hpp"
