// A Go client of the Weft shop: connect-go code generated from proto/shop/gateway by buf, calling the
// gateway over the Connect protocol (HTTP/1.1) and over gRPC (HTTP/2 cleartext), as
// docs/calling-from-other-languages.md shows. Usage: shopclient http://127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"connectrpc.com/connect"

	gatewayv1 "weft.example/shopclient/gen/shop/gateway/v1"
	"weft.example/shopclient/gen/shop/gateway/v1/gatewayv1connect"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: shopclient http://127.0.0.1:8080")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "shopclient:", err)
		os.Exit(1)
	}
}

func run(baseURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Connect protocol over HTTP/1.1 with the default client: what curl and browsers speak.
	shop := gatewayv1connect.NewGatewayServiceClient(http.DefaultClient, baseURL)
	browse, err := shop.Browse(ctx, connect.NewRequest(&gatewayv1.BrowseRequest{PageSize: 3}))
	if err != nil {
		return fmt.Errorf("browse: %w", err)
	}
	products := browse.Msg.GetProducts()
	if len(products) == 0 {
		return errors.New("browse: no products")
	}
	fmt.Printf("browse (connect): %d products, first %q\n", len(products), products[0].GetProduct().GetName())

	// gRPC over HTTP/2 cleartext (h2c), the protocol other services use.
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	grpcShop := gatewayv1connect.NewGatewayServiceClient(h2c, baseURL, connect.WithGRPC())
	email := fmt.Sprintf("go-%d@example.com", time.Now().UnixNano())
	signUp, err := grpcShop.SignUp(ctx, connect.NewRequest(&gatewayv1.SignUpRequest{Email: email, Password: "go-client-Pa55word!", DisplayName: "Go client"}))
	if err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	fmt.Printf("sign up (grpc): user %s\n", signUp.Msg.GetUser().GetEmail())

	orders := connect.NewRequest(&gatewayv1.ListMyOrdersRequest{PageSize: 10})
	orders.Header().Set("Authorization", "Bearer "+signUp.Msg.GetAccessToken())
	list, err := grpcShop.ListMyOrders(ctx, orders)
	if err != nil {
		return fmt.Errorf("list my orders: %w", err)
	}
	fmt.Printf("my orders (grpc): %d\n", len(list.Msg.GetOrders()))

	// Errors arrive as Connect codes, the same on both protocols.
	_, err = shop.GetProductDetails(ctx, connect.NewRequest(&gatewayv1.GetProductDetailsRequest{Id: "no-such-product"}))
	fmt.Printf("missing product: %s\n", connect.CodeOf(err))
	return nil
}
