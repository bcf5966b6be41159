"""WeChat Pay API v3 (Native, H5, JSAPI) through the ``wechatpayv3`` SDK."""
