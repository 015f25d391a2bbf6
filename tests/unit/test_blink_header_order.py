"""`chromium_header_order`: the order in which Chromium's CORS check meets a fetch()'s request headers.

Every case below was observed with Debian's Chromium 156.0.8078.108 (headless, its own default
switches): the header Chromium named in `HeaderDisallowedByPreflightResponse`
(CDP `Network.loadingFailed.corsErrorStatus.failedParameter`) and, for the random cases, the order
in which the same request's headers reached the server when the preflight allowed them all (the
network stack keeps the vector order; browser-added headers are left out of `order`).  The random
cases are a sample of the 1,610 verified ones (2-9 custom names in random case, JSON/text/form bodies,
page-set Accept/Accept-Language/Content-Language, more than 1024 bytes of safelisted values;
fetch() and XMLHttpRequest; loopback, plain-http and https targets).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mitmproxy_cors.engine.blink_header_order import chromium_header_order


@dataclass(frozen=True)
class Observed:
    names: list[str]  # the page's headers (page order, page case) + the body's Content-Type
    secure: bool  # request URL potentially trustworthy (loopback / https): sec-ch-ua* in Blink's map
    xhr: bool
    order: list[str]  # wire order of those headers (+ the default Accept, last, when the page set none)
    safelisted: list[str]  # names whose values were CORS-safelisted (incl. a default Accept: */*)
    overflow: bool  # safelisted values totalled more than 1024 bytes
    allowed: list[str]  # Access-Control-Allow-Headers of the failing preflight
    failed: str  # the failedParameter Chromium reported


def vector_order(case: Observed) -> list[str]:
    order = chromium_header_order(case.names, ua_client_hints=case.secure, xhr=case.xhr)
    if "accept" not in (n.lower() for n in case.names):
        order.append("accept")  # network_utils::SetAcceptHeader appends the default after the map
    return order


def first_disallowed(case: Observed) -> str | None:
    """`CorsUnsafeNotForbiddenRequestHeaderNames` in vector order, then the first not allowed."""
    order = vector_order(case)
    unsafe = [n for n in order if n not in case.safelisted]
    if case.overflow:
        unsafe += [n for n in order if n in case.safelisted]
    return next((n for n in unsafe if n not in case.allowed), None)


# Seen through the e2e harness (tests/e2e/e2e_cases.py), loopback target.
E2E = [
    # headers-order-two: no Access-Control-Allow-Headers
    (["X-B", "x-a"], [], [], False, "x-a"),
    # headers-order-three: ACAH x-c
    (["X-Z", "x-a", "X-m"], [], ["x-c"], False, "x-m"),
    # headers-order-content-type: Content-Type: application/json, ACAH x-c
    (["X-Z", "Content-Type"], [], ["x-c"], False, "x-z"),
    # several-headers-partial: ACAH x-a
    (["X-B", "x-a", "Content-Type"], [], ["x-a"], False, "content-type"),
    # safelisted-over-1024: nine safelisted headers of 128 bytes each, no ACAH
    (["Accept", "Accept-Language", "Content-Language", "Intervention", "DPR", "Width", "Viewport-Width",
      "RTT", "Downlink"],
     ["accept", "accept-language", "content-language", "downlink", "dpr", "intervention", "rtt",
      "viewport-width", "width"], [], True, "viewport-width"),
]


@pytest.mark.parametrize("names, safelisted, allowed, overflow, failed", E2E)
def test_e2e_cases(names, safelisted, allowed, overflow, failed):
    case = Observed(names, True, False, [], safelisted, overflow, allowed, failed)
    assert first_disallowed(case) == failed


RANDOM = [
    Observed(  # u31_46 loop
        ['sAve-data', 'Ect', 'X-uuI', 'ACcept', 'UnVnf-Yla-rEqueSt-ID', 'x-nrhVyc', 'rTT', 'Dpr',
         'X-QdBluYK', 'x-A', 'vieWport-wIdTh', 'X-P', 'downlinK', 'accePt-lanGuaGE', 'iNterVeNTion',
         'ConteNT-lAnGuage', 'device-memOrY'],
        secure=True, xhr=False, overflow=False, failed='x-a',
        order=['viewport-width', 'x-uui', 'device-memory', 'intervention', 'x-a', 'x-nrhvyc', 'accept',
               'downlink', 'x-qdbluyk', 'ect', 'accept-language', 'x-p', 'dpr', 'save-data',
               'unvnf-yla-request-id', 'content-language', 'rtt'],
        safelisted=['accept', 'accept-language', 'content-language', 'device-memory', 'downlink', 'dpr',
                    'ect', 'intervention', 'rtt', 'save-data', 'viewport-width'],
        allowed=['unvnf-yla-request-id', 'x-qdbluyk', 'x-uui'],
    ),
    Observed(  # u31_11 https
        ['DOwNlink', 'Accept-Language', 'X-QLfOfT', 'width', 'x-QbpJG', 'rtt', 'tEcljczyTZ-REQuesT-id',
         'DevicE-meMORy', 'X-qXTdhW', 'ecT', 'x-KKRj', 'save-Data', 'x-VkPO', 'Accept', 'INTervenTiON',
         'x-KJouzznpr', 'viewport-WiDth', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='x-kkrj',
        order=['x-kkrj', 'viewport-width', 'width', 'device-memory', 'intervention', 'x-qxtdhw', 'accept',
               'content-type', 'x-qbpjg', 'x-qlfoft', 'downlink', 'ect', 'accept-language', 'x-kjouzznpr',
               'save-data', 'tecljczytz-request-id', 'rtt', 'x-vkpo'],
        safelisted=['accept', 'accept-language', 'content-type', 'device-memory', 'downlink', 'ect',
                    'intervention', 'rtt', 'save-data', 'viewport-width', 'width'],
        allowed=['tecljczytz-request-id', 'x-kjouzznpr', 'x-qbpjg', 'x-qlfoft'],
    ),
    Observed(  # u32_149 loop
        ['X-lCVhLgzoQ', 'roSztkN-iD', 'content-type', 'X-uib', 'x-QXiUm', 'x-IDI', 'x-dOwemQeoAs',
         'tWY-id', 'razWvylbe-tOKeN', 'tpno-toKen', 'Accept-Language'],
        secure=True, xhr=False, overflow=False, failed='x-uib',
        order=['x-qxium', 'accept-language', 'razwvylbe-token', 'x-uib', 'twy-id', 'tpno-token',
               'x-lcvhlgzoq', 'x-idi', 'content-type', 'x-dowemqeoas', 'rosztkn-id', 'accept'],
        safelisted=['accept', 'accept-language'],
        allowed=['content-type', 'razwvylbe-token', 'rosztkn-id', 'tpno-token', 'twy-id', 'x-qxium'],
    ),
    Observed(  # u31_40 http
        ['ConTEnT-languaGe', 'DPr', 'Device-MEmory', 'x-d', 'dowNLink', 'ycFPCcnVT-ReQueSt-id',
         'SVGjF-reQUeSt-id', 'ACCePt-LaNGuage', 'vIEWpOrt-wiDTh', 'WiDTh', 'eCt', 'save-dAtA', 'rtt',
         'Content-Type'],
        secure=False, xhr=False, overflow=False, failed='x-d',
        order=['viewport-width', 'x-d', 'ect', 'width', 'accept-language', 'device-memory',
               'ycfpccnvt-request-id', 'dpr', 'save-data', 'content-language', 'content-type', 'rtt',
               'svgjf-request-id', 'downlink', 'accept'],
        safelisted=['accept', 'accept-language', 'content-language', 'content-type', 'device-memory',
                    'downlink', 'dpr', 'ect', 'rtt', 'save-data', 'viewport-width', 'width'],
        allowed=['ycfpccnvt-request-id'],
    ),
    Observed(  # u32_85 loop
        ['X-dus', 'X-x', 'Wa-id', 'X-xIBFJm', 'X-ztAip', 'x-biuYsopgbG', 'X-ZHpSbJjwAm', 'X-CYnVSrlv',
         'x-imDkeeZ', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='x-biuysopgbg',
        order=['x-biuysopgbg', 'x-ztaip', 'wa-id', 'x-zhpsbjjwam', 'x-dus', 'x-xibfjm', 'x-imdkeez',
               'x-x', 'content-type', 'x-cynvsrlv', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['x-cynvsrlv', 'x-dus', 'x-xibfjm'],
    ),
    Observed(  # u33_132 https
        ['X-xadlWrueo', 'X-wMeIMKHhc', 'X-xqehAlk', 'p-Id', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='x-wmeimkhhc',
        order=['x-wmeimkhhc', 'x-xqehalk', 'x-xadlwrueo', 'p-id', 'content-type', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['x-xadlwrueo'],
    ),
    Observed(  # u32_133 https
        ['PODkEFgo-tokEN', 'X-MgNjCQ', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='x-mgnjcq',
        order=['x-mgnjcq', 'content-type', 'podkefgo-token', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=[],
    ),
    Observed(  # u32_5 loop
        ['x-ZDolaimPLc', 'Accept-Language', 'x-eorAhZGvZ', 'Content-Language', 'rE-Id', 'x-wf', 'X-TL',
         'X-MHvfslAC', 'content-type', 'Accept', 'x-fYiwcfowSn', 'x-yc-AlK'],
        secure=True, xhr=False, overflow=False, failed='x-yc-alk',
        order=['x-tl', 're-id', 'x-eorahzgvz', 'accept', 'content-type', 'x-yc-alk', 'x-wf',
               'accept-language', 'x-fyiwcfowsn', 'x-zdolaimplc', 'x-mhvfslac', 'content-language'],
        safelisted=['accept'],
        allowed=['content-type', 're-id', 'x-eorahzgvz', 'x-fyiwcfowsn', 'x-tl', 'x-wf', 'x-zdolaimplc'],
    ),
    Observed(  # u31_89 loop
        ['RTtWAmdv-id', 'x-i', 'H-tOKeN', 'x-hfetwpbrc', 'Accept', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='rttwamdv-id',
        order=['rttwamdv-id', 'x-i', 'h-token', 'accept', 'content-type', 'x-hfetwpbrc'],
        safelisted=['accept', 'content-type'],
        allowed=['x-hfetwpbrc', 'x-i'],
    ),
    Observed(  # u31_71 loop
        ['x-nmkvkAu-cZ', 'X-QwonJ', 'x-FDc', 'x-iWRscjkGct', 'X-ivOgzxj'],
        secure=True, xhr=False, overflow=False, failed='x-ivogzxj',
        order=['x-ivogzxj', 'x-fdc', 'x-iwrscjkgct', 'x-qwonj', 'x-nmkvkau-cz', 'accept'],
        safelisted=['accept'],
        allowed=[],
    ),
    Observed(  # u33_147 http
        ['X-VOwi', 'X-aWndu', 'x-crIgByk', 'x-xcBbIgGcm', 'z-id', 'x-a', 'X-TvNMidUj', 'X-bHrvGPfsa',
         'X-LVbce'],
        secure=False, xhr=False, overflow=False, failed='x-awndu',
        order=['x-awndu', 'x-xcbbiggcm', 'x-tvnmiduj', 'x-a', 'x-vowi', 'x-bhrvgpfsa', 'x-crigbyk',
               'x-lvbce', 'z-id', 'accept'],
        safelisted=['accept'],
        allowed=['x-a', 'x-tvnmiduj', 'z-id'],
    ),
    Observed(  # u32_0 loop
        ['Accept-LAnGuagE', 'Dpr', 'downLiNk', 'acCepT', 'X-pgg', 'vIEwporT-wIdTH', 'eCT', 'X-BHjp-js',
         'X-wpbq', 'DevicE-MemOrY', 'WiDtH', 'InTeRveNtion', 'Content-Language'],
        secure=True, xhr=False, overflow=False, failed='x-bhjp-js',
        order=['viewport-width', 'width', 'device-memory', 'x-bhjp-js', 'intervention', 'x-wpbq',
               'accept', 'downlink', 'x-pgg', 'ect', 'accept-language', 'dpr', 'content-language'],
        safelisted=['accept', 'accept-language', 'content-language', 'device-memory', 'downlink', 'dpr',
                    'ect', 'intervention', 'viewport-width', 'width'],
        allowed=['x-pgg'],
    ),
    Observed(  # u33_136 https
        ['x-fqFIL', 'RgdJtqs-tOkEn', 'x-ZPA', 'X-D', 'x-Itaxhqqtg', 'gtjQCt-ID', 'X-mj', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='x-fqfil',
        order=['x-itaxhqqtg', 'x-d', 'x-mj', 'gtjqct-id', 'x-fqfil', 'content-type', 'rgdjtqs-token',
               'x-zpa', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['gtjqct-id', 'rgdjtqs-token', 'x-d', 'x-itaxhqqtg', 'x-mj', 'x-zpa'],
    ),
    Observed(  # u30_12 loop
        ['x-giSkncEC', 'X-nfggBQIq', 'Accept-Language', 'Content-Type', 'x-xX', 'x-l'],
        secure=True, xhr=False, overflow=False, failed='x-xx',
        order=['x-l', 'accept-language', 'x-giskncec', 'content-type', 'x-nfggbqiq', 'x-xx', 'accept'],
        safelisted=['accept', 'accept-language'],
        allowed=['content-type', 'x-giskncec', 'x-l', 'x-nfggbqiq'],
    ),
    Observed(  # u32_27 http
        ['X-jHe', 'x-KqkMGxHtNj'],
        secure=False, xhr=False, overflow=False, failed='x-jhe',
        order=['x-jhe', 'x-kqkmgxhtnj', 'accept'],
        safelisted=['accept'],
        allowed=[],
    ),
    Observed(  # u31_137 loop
        ['x-pvtvCgYz', 'x-kWk-uwWgw', 'X-Ufasz', 'VBzBPTMkvl', 'x-cPcX', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='x-ufasz',
        order=['x-ufasz', 'x-kwk-uwwgw', 'x-pvtvcgyz', 'vbzbptmkvl', 'content-type', 'x-cpcx', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['x-kwk-uwwgw'],
    ),
    Observed(  # u33_16 http
        ['Accept-Language', 'Kpip-spgcr-toKen', 'x-xerskCsfm', 'uLsRhqmSIr-REquEST-iD', 'x-eOrlwrObM',
         'x-exRaR', 'X-ZJ', 'Accept', 'X-EMnlvjFCHQ', 'Content-Type'],
        secure=False, xhr=False, overflow=False, failed='x-xerskcsfm',
        order=['x-xerskcsfm', 'ulsrhqmsir-request-id', 'x-emnlvjfchq', 'accept-language', 'x-eorlwrobm',
               'x-exrar', 'x-zj', 'kpip-spgcr-token', 'accept', 'content-type'],
        safelisted=['accept', 'accept-language', 'content-type'],
        allowed=['ulsrhqmsir-request-id', 'x-emnlvjfchq', 'x-zj'],
    ),
    Observed(  # u32_112 https
        ['X-WWaQwd', 'x-CbKmilzd', 'Accept-Language', 'x-qSjjACuB', 'X-OoKYFBvhWr', 'Content-Language',
         'pT-reQuESt-id', 'x-TCHQaW', 'Accept', 'X-xErgmcx', 'X-IYv', 'X-zB'],
        secure=True, xhr=False, overflow=False, failed='x-cbkmilzd',
        order=['x-xergmcx', 'x-cbkmilzd', 'accept', 'x-tchqaw', 'x-qsjjacub', 'x-iyv', 'accept-language',
               'x-ookyfbvhwr', 'pt-request-id', 'content-language', 'x-zb', 'x-wwaqwd'],
        safelisted=['accept'],
        allowed=['pt-request-id', 'x-iyv', 'x-ookyfbvhwr', 'x-qsjjacub', 'x-xergmcx'],
    ),
    Observed(  # u32_88 https
        ['Accept', 'Ztvivn-ReqUesT-id', 'x-GfcUV', 'X-U-YDc', 'X-uxwwMw', 'x-RcrwXIg', 'x-wOrRFzSCx'],
        secure=True, xhr=False, overflow=False, failed='x-worrfzscx',
        order=['x-worrfzscx', 'ztvivn-request-id', 'x-u-ydc', 'x-uxwwmw', 'x-rcrwxig', 'accept', 'x-gfcuv'],
        safelisted=['accept'],
        allowed=['x-gfcuv'],
    ),
    Observed(  # u33_62 loop
        ['X-mM', 'x-MZGXFqpugp', 'x-kaaKbud', 'x-ws', 'x-asrn', 'x-cI', 'x-RY'],
        secure=True, xhr=False, overflow=False, failed='x-mm',
        order=['x-kaakbud', 'x-mm', 'x-mzgxfqpugp', 'x-ry', 'x-asrn', 'x-ws', 'x-ci', 'accept'],
        safelisted=['accept'],
        allowed=['x-ci', 'x-kaakbud', 'x-ws'],
    ),
    Observed(  # u32_75 loop
        ['x-zxSUi', 'x-DVeebyrlw', 'gK-rEqUESt-id', 'x-kiU', 'x-PrXX', 'x-kfN', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='x-kfn',
        order=['x-kfn', 'x-prxx', 'x-dveebyrlw', 'x-zxsui', 'x-kiu', 'gk-request-id', 'content-type',
               'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['x-kiu'],
    ),
    Observed(  # u31_10 http
        ['Accept', 'x-Iv', 'Gjc-ReQUEst-iD', 'content-type', 'X-mRkOK', 'x-yf', 'x-liiOf', 'X-DPrPEcsA',
         'X-aTndmQ'],
        secure=False, xhr=False, overflow=False, failed='x-atndmq',
        order=['gjc-request-id', 'x-atndmq', 'x-liiof', 'x-yf', 'x-dprpecsa', 'x-iv', 'x-mrkok', 'accept',
               'content-type'],
        safelisted=['accept'],
        allowed=['gjc-request-id', 'x-yf'],
    ),
    Observed(  # u32_86 https
        ['x-RKDrNt', 'x-e', 'X-WprmkCw', 'Accept-Language', 'x-m', 'Content-Language', 'x-tH', 'Accept',
         'x-Ac', 'X-aSrzoDHd', 'content-type', 'x-ltxyECs', 'x-CzLjvswXuz'],
        secure=True, xhr=False, overflow=False, failed='x-rkdrnt',
        order=['x-rkdrnt', 'x-e', 'x-m', 'accept', 'content-type', 'x-czljvswxuz', 'accept-language',
               'x-ltxyecs', 'x-asrzodhd', 'x-ac', 'content-language', 'x-th', 'x-wprmkcw'],
        safelisted=['accept'],
        allowed=['accept-language', 'content-language', 'x-asrzodhd', 'x-czljvswxuz', 'x-m'],
    ),
    Observed(  # u33_8 loop
        ['X-tz', 'Content-Language', 'x-IYxZ', 'X-SvCONgx', 'X-azKA', 'Content-Type'],
        secure=True, xhr=True, overflow=False, failed='x-tz',
        order=['x-azka', 'x-svcongx', 'x-tz', 'x-iyxz', 'content-language', 'content-type', 'accept'],
        safelisted=['accept', 'content-language', 'content-type'],
        allowed=['x-azka', 'x-svcongx'],
    ),
    Observed(  # u32_77 https
        ['VitETheB-tokeN', 'x-UTrv', 'U', 'tvlEcj-ReQuEst-id', 'x-O', 'X-tNgLDkQmrF', 'x-weBiamuk',
         'X-YUABIx', 'Content-Type'],
        secure=True, xhr=False, overflow=False, failed='vitetheb-token',
        order=['vitetheb-token', 'tvlecj-request-id', 'x-o', 'x-yuabix', 'x-webiamuk', 'x-utrv', 'u',
               'content-type', 'x-tngldkqmrf', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['x-o', 'x-utrv', 'x-yuabix'],
    ),
    Observed(  # u32_47 loop
        ['x-HAInybMqk', 'X-UxGnRbiUHv', 'X-cjKFgpt', 'X-hOu', 'X-sboGy', 'p-rEquEst-iD', 'kaFMSlb-tokEN',
         'n-TokEn', 'UlqMxoms'],
        secure=True, xhr=False, overflow=False, failed='n-token',
        order=['n-token', 'kafmslb-token', 'ulqmxoms', 'x-cjkfgpt', 'x-sbogy', 'p-request-id', 'x-hou',
               'x-uxgnrbiuhv', 'x-hainybmqk', 'accept'],
        safelisted=['accept'],
        allowed=['p-request-id', 'ulqmxoms', 'x-hainybmqk'],
    ),
    Observed(  # u32_96 http
        ['x-XPezJ', 'x-jLoaGrZZN', 'x-aBtEVT', 'x-w'],
        secure=False, xhr=False, overflow=False, failed='x-abtevt',
        order=['x-jloagrzzn', 'x-abtevt', 'x-xpezj', 'x-w', 'accept'],
        safelisted=['accept'],
        allowed=['x-jloagrzzn', 'x-xpezj'],
    ),
    Observed(  # u31_59 loop
        ['Accept', 'x-skZnBVgBS', 'x-aYbXkiixmm', 'X-eqRTfZ', 'x-wRfotu', 'content-type', 'x-pcUxC',
         'x-zRf'],
        secure=True, xhr=True, overflow=False, failed='x-eqrtfz',
        order=['x-eqrtfz', 'x-skznbvgbs', 'x-wrfotu', 'x-zrf', 'x-pcuxc', 'accept', 'x-aybxkiixmm',
               'content-type'],
        safelisted=['accept'],
        allowed=['x-aybxkiixmm', 'x-pcuxc', 'x-wrfotu'],
    ),
    Observed(  # u31_49 http
        ['X-rtUwQxeIZ', 'x-UAwbCfwA', 'X-fHfP', 'x-vFCcee', 'x-kmIedjaklr', 'X-KAUEnfpV', 'Content-Type'],
        secure=False, xhr=False, overflow=False, failed='x-rtuwqxeiz',
        order=['x-rtuwqxeiz', 'x-uawbcfwa', 'x-vfccee', 'x-kmiedjaklr', 'x-fhfp', 'x-kauenfpv',
               'content-type', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['x-fhfp', 'x-uawbcfwa', 'x-vfccee'],
    ),
    Observed(  # u31_12 http
        ['n', 'Accept', 'X-qYdApouRV', 'Content-Language'],
        secure=False, xhr=False, overflow=False, failed='x-qydapourv',
        order=['n', 'x-qydapourv', 'accept', 'content-language'],
        safelisted=['accept', 'content-language'],
        allowed=['n'],
    ),
    Observed(  # u31_0 http
        ['x-MBdwEBEx', 'X-NRbl'],
        secure=False, xhr=True, overflow=False, failed='x-nrbl',
        order=['x-mbdwebex', 'x-nrbl', 'accept'],
        safelisted=['accept'],
        allowed=['x-mbdwebex'],
    ),
    Observed(  # u31_61 http
        ['X-twLzPTma', 'x-mXhryEq', 'X-aYOiipqI', 'v-x', 'pdgaRguf-x', 'Content-Type'],
        secure=False, xhr=True, overflow=False, failed='v-x',
        order=['v-x', 'x-twlzptma', 'x-ayoiipqi', 'x-mxhryeq', 'content-type', 'pdgarguf-x', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['pdgarguf-x', 'x-ayoiipqi', 'x-twlzptma'],
    ),
    Observed(  # u30_17 loop
        ['X-tETtprgG', 'X-wEya', 'x-a', 'x-nbUVrezbVi', 'x-fumo', 'X-oNJLgIeYW', 'Content-Type'],
        secure=True, xhr=True, overflow=False, failed='x-tettprgg',
        order=['x-nbuvrezbvi', 'x-tettprgg', 'x-fumo', 'x-a', 'x-weya', 'x-onjlgieyw', 'content-type',
               'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['x-nbuvrezbvi', 'x-weya'],
    ),
    Observed(  # u33_13 https
        ['x-lwzpE', 'x-pDkL', 'SPLU-iD', 'X-lbkanyJI', 'x-p', 'xqEuOvb-X', 'Content-Type'],
        secure=True, xhr=True, overflow=False, failed='x-p',
        order=['x-pdkl', 'x-p', 'splu-id', 'xqeuovb-x', 'x-lwzpe', 'x-lbkanyji', 'content-type', 'accept'],
        safelisted=['accept', 'content-type'],
        allowed=['x-lbkanyji', 'x-pdkl'],
    ),
    Observed(  # u33_52 https
        ['x-m', 'x-kMdZZoGMJm', 'oBkubtwK-X'],
        secure=True, xhr=True, overflow=False, failed='obkubtwk-x',
        order=['x-m', 'obkubtwk-x', 'x-kmdzzogmjm', 'accept'],
        safelisted=['accept'],
        allowed=['x-m'],
    ),
    Observed(  # u33_119 loop
        ['x-hr', 'ACcEpt-language', 'content-langUagE', 'rTt', 'U-toKeN', 'Intervention', 'accept',
         'width', 'x-K', 'doWnLiNK', 'devIcE-memory', 'dpR', 'X-pGH', 'ecT', 'vIewport-width',
         'Content-Type'],
        secure=True, xhr=False, overflow=True, failed='x-hr',
        order=['x-hr', 'viewport-width', 'x-k', 'width', 'device-memory', 'intervention', 'accept',
               'content-type', 'downlink', 'ect', 'accept-language', 'x-pgh', 'u-token', 'dpr',
               'content-language', 'rtt'],
        safelisted=['accept', 'accept-language', 'content-language', 'content-type', 'device-memory',
                    'downlink', 'dpr', 'ect', 'intervention', 'rtt', 'viewport-width', 'width'],
        allowed=['accept', 'ect', 'intervention', 'width', 'x-k', 'x-pgh'],
    ),
    Observed(  # u31_130 loop
        ['GXirk-requEsT-id', 'widtH', 'InteRventIon', 'X-uo', 'x-sw', 'Accept', 'devicE-mEmORY',
         'vIewPort-WIdtH', 'save-data', 'x-JkBigt', 'X-FQ', 'DoWnlINk', 'X-IohNuXWt', 'x-pwZkmODv',
         'COnTent-lanGuagE', 'dpR', 'ECt', 'X-Exfhfwu', 'accepT-lanGUaGe', 'rTt', 'Content-Type'],
        secure=True, xhr=False, overflow=True, failed='x-iohnuxwt',
        order=['viewport-width', 'width', 'device-memory', 'x-iohnuxwt', 'intervention', 'x-uo', 'accept',
               'content-type', 'downlink', 'x-jkbigt', 'x-sw', 'x-pwzkmodv', 'ect', 'accept-language',
               'gxirk-request-id', 'dpr', 'save-data', 'x-fq', 'content-language', 'rtt', 'x-exfhfwu'],
        safelisted=['accept', 'accept-language', 'content-language', 'content-type', 'device-memory',
                    'downlink', 'dpr', 'ect', 'intervention', 'rtt', 'save-data', 'viewport-width',
                    'width'],
        allowed=['accept-language', 'content-type', 'device-memory', 'downlink', 'dpr',
                 'gxirk-request-id', 'rtt', 'x-jkbigt'],
    ),
    Observed(  # u30_104 loop
        ['WIdTh', 'Ect', 'DEvice-MEMory', 'x-DbS', 'dPr', 'doWnLink', 'viewport-widTH', 't-x', 'x-kUdpt',
         'x-ymxBbo', 'x-ABsntc', 'xbzuu-x', 'cOnteNT-lanGuagE', 'x-WFncGDsmxb', 'save-daTa', 'RTt',
         'zmtb', 'acCePt-lAnguage', 'x-IrLCKXvCas', 'interventiOn'],
        secure=True, xhr=False, overflow=True, failed='x-absntc',
        order=['viewport-width', 'width', 'device-memory', 'intervention', 'x-ymxbbo', 'x-absntc', 't-x',
               'downlink', 'x-irlckxvcas', 'zmtb', 'ect', 'accept-language', 'x-wfncgdsmxb', 'x-dbs',
               'xbzuu-x', 'dpr', 'save-data', 'x-kudpt', 'content-language', 'rtt', 'accept'],
        safelisted=['accept', 'accept-language', 'content-language', 'device-memory', 'downlink', 'dpr',
                    'ect', 'intervention', 'rtt', 'save-data', 'viewport-width', 'width'],
        allowed=['accept', 'accept-language', 'downlink', 'ect', 'save-data', 't-x', 'x-dbs',
                 'x-irlckxvcas', 'x-ymxbbo'],
    ),
    Observed(  # u32_146 loop
        ['x-rUh', 'device-MeMOrY', 'rtt', 'X-MYBHhmmMNK', 'content-type', 'accepT', 'X-sKL',
         'i-zJoeibqH-id', 'dpr', 'interveNtIon', 'saVe-DATA', 'ViewPort-widtH', 'acCEpt-langUaGe', 'Ect',
         'wiDtH', 'contenT-LanguaGe', 'DOwNlInK'],
        secure=True, xhr=True, overflow=True, failed='x-ruh',
        order=['viewport-width', 'width', 'device-memory', 'intervention', 'x-ruh', 'accept',
               'content-type', 'downlink', 'ect', 'x-skl', 'accept-language', 'i-zjoeibqh-id', 'dpr',
               'save-data', 'content-language', 'rtt', 'x-mybhhmmmnk'],
        safelisted=['accept', 'accept-language', 'content-language', 'device-memory', 'downlink', 'dpr',
                    'ect', 'intervention', 'rtt', 'save-data', 'viewport-width', 'width'],
        allowed=['downlink', 'dpr', 'i-zjoeibqh-id', 'rtt', 'save-data', 'viewport-width', 'x-skl'],
    ),
    # More than 1024 bytes of safelisted values, every unsafe name allowed: a safelisted name fails.
    Observed(  # o40_1 loop
        ['devicE-memoRy', 'X-J', 'dpR', 'accEPt-langUaGe', 'SAve-data', 'inteRvEntion', 'AccEpt', 'Rtt',
         'x-YqGS', 'x-cet', 'coNtenT-languaGe', 'dOWnlink', 'ect', 'wIDTH'],
        secure=True, xhr=True, overflow=True, failed='width',
        order=['width', 'device-memory', 'intervention', 'accept', 'x-yqgs', 'downlink', 'ect',
               'accept-language', 'x-cet', 'x-j', 'dpr', 'save-data', 'content-language', 'rtt'],
        safelisted=['accept', 'accept-language', 'content-language', 'device-memory', 'downlink', 'dpr',
                    'ect', 'intervention', 'rtt', 'save-data', 'width'],
        allowed=['x-cet', 'x-j', 'x-yqgs', 'accept', 'device-memory', 'dpr', 'intervention', 'save-data'],
    ),
    Observed(  # o40_3 http
        ['wiDth', 'X-rhNQqfTrj', 'accEPt-lanGuage', 'AnAW-reqUEST-id', 'x-m', 'contenT-lanGuaGe',
         'iNterveNtion', 'X-v', 'viewporT-width', 'Ect', 'rtT', 'lh-x', 'DeVice-mEMorY', 'X-vLdH',
         'downLINk', 'accePt', 'SAvE-DaTa', 'btGmMX-iD', 'Content-Type'],
        secure=False, xhr=False, overflow=True, failed='width',
        order=['viewport-width', 'lh-x', 'width', 'device-memory', 'intervention', 'btgmmx-id',
               'x-rhnqqftrj', 'x-vldh', 'x-m', 'accept', 'anaw-request-id', 'content-type', 'downlink',
               'ect', 'accept-language', 'save-data', 'x-v', 'content-language', 'rtt'],
        safelisted=['accept', 'accept-language', 'content-language', 'content-type', 'device-memory',
                    'downlink', 'ect', 'intervention', 'rtt', 'save-data', 'viewport-width', 'width'],
        allowed=['anaw-request-id', 'btgmmx-id', 'lh-x', 'x-m', 'x-rhnqqftrj', 'x-v', 'x-vldh',
                 'accept-language', 'device-memory', 'downlink', 'ect', 'viewport-width'],
    ),
    Observed(  # o40_5 https
        ['rtT', 'X-mdCdEC', 'x-minIhZAuX', 'Dpr', 'x-YgRU', 'aCcept', 'content-type', 'x-kQxy',
         'x-mfXINs', 'DeviCe-mEmoRy', 'contEnt-langUaGE', 'aCcePt-lanGUAgE', 'wiDTh', 'ViewpOrt-wIDTh',
         'downlink', 'jJqHvPQgQK', 'InTerveNtion', 'rIyniYacud-id', 'X-rdElcRUpE', 'eCt', 'p-x'],
        secure=True, xhr=False, overflow=True, failed='intervention',
        order=['viewport-width', 'width', 'device-memory', 'intervention', 'p-x', 'x-rdelcrupe',
               'x-minihzaux', 'x-kqxy', 'jjqhvpqgqk', 'riyniyacud-id', 'accept', 'content-type',
               'downlink', 'ect', 'accept-language', 'x-mfxins', 'x-mdcdec', 'dpr', 'content-language',
               'rtt', 'x-ygru'],
        safelisted=['accept', 'accept-language', 'content-language', 'device-memory', 'downlink', 'dpr',
                    'ect', 'intervention', 'rtt', 'viewport-width', 'width'],
        allowed=['content-type', 'jjqhvpqgqk', 'p-x', 'riyniyacud-id', 'x-kqxy', 'x-mdcdec', 'x-mfxins',
                 'x-minihzaux', 'x-rdelcrupe', 'x-ygru', 'accept', 'accept-language', 'content-language',
                 'device-memory', 'ect', 'rtt', 'viewport-width', 'width'],
    ),
    # ... and with the default Accept: */* (not set by the page), which comes after the whole map.
    Observed(  # d0 http
        ['width', 'AcCepT-LanGuAge', 'dPr', 'cONTEnT-lANGUage', 'downLiNk', 'viewpORt-widtH', 'sAve-DaTa',
         'dEvIce-meMOry', 'ect', 'iNterVenTion', 'Rtt', 'X-kpS', 'X-vmEctDwo'],
        secure=False, xhr=False, overflow=True, failed='accept',
        order=['viewport-width', 'ect', 'width', 'accept-language', 'device-memory', 'intervention',
               'x-kps', 'dpr', 'save-data', 'x-vmectdwo', 'content-language', 'rtt', 'downlink', 'accept'],
        safelisted=['accept', 'accept-language', 'content-language', 'device-memory', 'downlink', 'dpr',
                    'ect', 'intervention', 'rtt', 'save-data', 'viewport-width', 'width'],
        allowed=['accept-language', 'content-language', 'device-memory', 'downlink', 'dpr', 'ect',
                 'intervention', 'rtt', 'save-data', 'viewport-width', 'width', 'x-kps', 'x-vmectdwo'],
    ),
    Observed(  # d1 http
        ['Save-data', 'dPr', 'X-IrNMDoSFMP', 'dEvicE-mEMorY', 'BjjVj', 'content-lanGuAge', 'inteRventioN',
         'viEwport-width', 'dOwnLINk', 'ecT', 'accept-languAGe', 'rTT', 'wiDTh', 'Content-Type'],
        secure=False, xhr=False, overflow=True, failed='save-data',
        order=['viewport-width', 'bjjvj', 'ect', 'width', 'accept-language', 'device-memory',
               'intervention', 'dpr', 'save-data', 'x-irnmdosfmp', 'content-language', 'content-type',
               'rtt', 'downlink', 'accept'],
        safelisted=['accept', 'accept-language', 'content-language', 'content-type', 'device-memory',
                    'downlink', 'dpr', 'ect', 'intervention', 'rtt', 'save-data', 'viewport-width',
                    'width'],
        allowed=['accept-language', 'bjjvj', 'content-language', 'content-type', 'device-memory',
                 'downlink', 'dpr', 'ect', 'intervention', 'rtt', 'viewport-width', 'width',
                 'x-irnmdosfmp'],
    ),
]


@pytest.mark.parametrize("case", RANDOM, ids=lambda c: ",".join(n.lower() for n in c.names)[:60])
def test_vector_order_matches_the_wire(case):
    assert vector_order(case) == case.order


@pytest.mark.parametrize("case", RANDOM, ids=lambda c: ",".join(n.lower() for n in c.names)[:60])
def test_failed_parameter_matches_chromium(case):
    assert first_disallowed(case) == case.failed


def test_not_sorted_and_not_page_order():
    assert chromium_header_order(["X-B", "x-a"]) == ["x-a", "x-b"]
    assert chromium_header_order(["X-Z", "x-a", "X-m"]) == ["x-m", "x-z", "x-a"]
    assert chromium_header_order(["x-z", "content-type"]) == ["x-z", "content-type"]


def test_case_insensitive_and_input_order_free_for_fetch():
    names = ["X-Foo", "x-bar", "Content-Type", "X-BAZ", "authorization"]
    expected = chromium_header_order(names)
    assert chromium_header_order([n.upper() for n in reversed(names)]) == expected
    assert sorted(expected) == sorted(n.lower() for n in names)


def test_duplicates_and_empty():
    assert chromium_header_order([]) == []
    assert chromium_header_order(["x-a", "X-A", "x-b"]) == chromium_header_order(["x-b", "x-a"])


def test_client_hints_change_the_table():
    # x-id, sdka-id, x-m, x-rhlhvhyo + a text body: 9 entries with the hints (32 slots), 6 without (16)
    names = ["x-iD", "sDKa-Id", "x-rhLhvHyo", "x-m", "content-type"]
    assert chromium_header_order(names) == ["x-id", "sdka-id", "x-m", "content-type", "x-rhlhvhyo"]
    assert chromium_header_order(names, ua_client_hints=False) != chromium_header_order(names)


def test_default_accept_comes_last():
    names = ["accept", "accept-language", "content-language", "downlink", "dpr", "intervention", "rtt",
             "viewport-width", "width"]
    in_map = chromium_header_order(names)
    assert in_map.index("accept") < len(in_map) - 1
    default = chromium_header_order(names, default_accept=True)
    assert default[-1] == "accept"
    assert default[:-1] == [n for n in in_map if n != "accept"]


def test_xhr_uses_the_call_order():
    # XHR copies its own hash map (filled in setRequestHeader order, then send()'s Content-Type) into
    # the request's map, so colliding slots can end up swapped compared with fetch().  Observed (u13_22,
    # https, JSON body): ACAH x-aqnxol, x-nwkiphzu, x-zrqhx -> XHR named x-udll.
    calls = ["x-aQNXol", "x-udLl", "x-NwKiphZu", "x-hf", "content-type", "X-zRQhx"]
    xhr = chromium_header_order(calls, xhr=True)
    assert xhr == ["x-udll", "x-hf", "x-nwkiphzu", "x-zrqhx", "content-type", "x-aqnxol"]  # the wire order
    assert chromium_header_order(calls) == ["x-hf", "x-udll", "x-nwkiphzu", "x-zrqhx", "content-type",
                                            "x-aqnxol"]
    allowed = {"x-aqnxol", "x-nwkiphzu", "x-zrqhx"}
    assert next(n for n in xhr if n not in allowed) == "x-udll"


def test_browser_added_names_are_ignored():
    names = ["x-iD", "sDKa-Id", "x-rhLhvHyo", "x-m", "content-type"]
    assert chromium_header_order(names + ["User-Agent", "sec-ch-ua"]) == chromium_header_order(names)


def test_long_and_single_character_names():
    names = ["o", "x-" + "a" * 60, "x-" + "b" * 17, "q"]
    result = chromium_header_order(names)
    assert sorted(result) == sorted(names)
