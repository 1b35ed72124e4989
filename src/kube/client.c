/* The API client (kube/client.h): issue 14 puts it here. */
typedef int kube_client_placeholder;
