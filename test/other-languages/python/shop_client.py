"""A Python client of the Weft shop: grpcio stubs generated from proto/shop/gateway (buf build, then
grpcio-tools), calling the gateway over gRPC (HTTP/2 cleartext), as
docs/calling-from-other-languages.md shows. Usage: python shop_client.py 127.0.0.1:8080 GEN_DIR"""

import sys
import time

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
from shop.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402


def main(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        shop = gateway_pb2_grpc.GatewayServiceStub(channel)
        browse = shop.Browse(gateway_pb2.BrowseRequest(page_size=3), timeout=30)
        if not browse.products:
            raise SystemExit("browse: no products")
        print(f"browse (grpc): {len(browse.products)} products, first {browse.products[0].product.name!r}")

        email = f"py-{time.time_ns()}@example.com"
        signed_up = shop.SignUp(gateway_pb2.SignUpRequest(email=email, password="py-client-Pa55word!", display_name="Python client"), timeout=30)
        print(f"sign up (grpc): user {signed_up.user.email}")

        orders = shop.ListMyOrders(gateway_pb2.ListMyOrdersRequest(page_size=10), metadata=[("authorization", f"Bearer {signed_up.access_token}")], timeout=30)
        print(f"my orders (grpc): {len(orders.orders)}")

        # Errors arrive as gRPC status codes.
        try:
            shop.GetProductDetails(gateway_pb2.GetProductDetailsRequest(id="no-such-product"), timeout=30)
            print("missing product: found?")
        except grpc.RpcError as err:
            print(f"missing product: {err.code().name.lower()}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python shop_client.py 127.0.0.1:8080 GEN_DIR")
    main(sys.argv[1])
