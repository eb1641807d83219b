// The shop example as a .so app: `prefork --app path/libshop.so:shop`.
#include <prefork/app.hpp>

#include "shop_app.hpp"

PREFORK_APP(shop, prefork::examples::ShopApp::make);
