//! The specification the handler analysis ([`super::handlers`]) reads: where a server-side
//! handler gets client input and the caller's verified identity, which calls read, change or
//! delete records (and how their selector and data are passed), what counts as a check of the
//! caller, and which collections, fields and APIs are privileged or carry money.
//!
//! Everything here is data: supporting another framework or API is rows in these tables plus
//! fixtures. Names are compared case-sensitively unless a table says "words" (those match a
//! lower-cased name containing the word).

/// Identifiers that are the request object of a Node handler (express `req`, koa and egg `ctx`).
/// Their members are classified by [`REQUEST_MEMBERS`].
pub const REQUEST_ROOTS: &[&str] = &["req", "request", "ctx"];

/// What a member of a request object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestMember {
    /// Sent by the client: body, query, route parameters, uploaded fields.
    Client,
    /// The verified caller, set by the authentication middleware.
    Identity,
    /// Another request object (`ctx.request`, `this.ctx`, `ctx.req`).
    Request,
}

/// Members of a request object (`req.body`, `ctx.request.body`, `ctx.state.user`,
/// `this.ctx`). Anything else is neither input nor identity (headers are left to the rules
/// about tokens).
pub const REQUEST_MEMBERS: &[(&str, RequestMember)] = &[
    ("body", RequestMember::Client),
    ("query", RequestMember::Client),
    ("params", RequestMember::Client),
    ("fields", RequestMember::Client),
    ("files", RequestMember::Client),
    ("request", RequestMember::Request),
    ("req", RequestMember::Request),
    ("ctx", RequestMember::Request),
    ("user", RequestMember::Identity),
    ("state", RequestMember::Identity),
    ("session", RequestMember::Identity),
    ("auth", RequestMember::Identity),
    ("userId", RequestMember::Identity),
    ("user_id", RequestMember::Identity),
    ("uid", RequestMember::Identity),
    ("openid", RequestMember::Identity),
    ("openId", RequestMember::Identity),
    ("currentUser", RequestMember::Identity),
    // Session objects a middleware decodes from a token onto the context (`ctx.jwtSession`).
    ("jwtSession", RequestMember::Identity),
    ("loginUser", RequestMember::Identity),
];

/// Parameter decorators of nest controllers: what the decorated parameter is
/// (`@Body() dto`, `@Query('id') id`, `@Req() req`, a `@User()` / `@CurrentUser()` decorator
/// written on top of the authentication guard).
pub const PARAM_DECORATORS: &[(&str, RequestMember)] = &[
    ("Body", RequestMember::Client),
    ("Query", RequestMember::Client),
    ("Param", RequestMember::Client),
    ("UploadedFile", RequestMember::Client),
    ("UploadedFiles", RequestMember::Client),
    ("Req", RequestMember::Request),
    ("Request", RequestMember::Request),
    ("Session", RequestMember::Identity),
    ("User", RequestMember::Identity),
    ("CurrentUser", RequestMember::Identity),
    ("AuthUser", RequestMember::Identity),
    ("LoginUser", RequestMember::Identity),
];

/// Decorators that make a class a controller whose methods are route handlers (nest
/// `@Controller('orders')`), and method decorators that attach guards (`@UseGuards(RolesGuard)`,
/// `@Roles('admin')`): a guard is middleware, and [`ROLE_MIDDLEWARE_WORDS`] in it make it a
/// role check.
pub const CONTROLLER_DECORATORS: &[&str] = &["Controller", "Resolver"];
pub const GUARD_DECORATORS: &[&str] = &["UseGuards", "Roles", "Auth", "Permissions"];

/// Generic types of injected repositories and models (typeorm `Repository<Order>`, mongoose
/// `Model<OrderDocument>`): a field of such a type is the entity's model class.
pub const REPOSITORY_TYPES: &[&str] = &["Repository", "MongoRepository", "TreeRepository", "Model"];

/// Words of methods whose result is their input checked or converted: a value that went
/// through `helper.validateParams(rules, request.body)` or `pick(body, keys)` is still the
/// client's choice.
pub const VALIDATION_METHOD_WORDS: &[&str] = &["validat", "sanitiz", "pick", "parseparam"];

/// Methods of a controller's `this` (thinkjs) or of the request (express `req.param`) that
/// return client input.
pub const CLIENT_INPUT_METHODS: &[&str] = &["post", "get", "param", "file", "query"];

/// Methods of a controller's `this` (thinkjs, egg) that return the verified caller.
pub const IDENTITY_METHODS: &[&str] = &[
    "getLoginUserId",
    "getLoginUser",
    "getUserId",
    "getCurrentUser",
    "getCurrentUserId",
    "getUser",
    // uni-id: `const { uid } = await uniID.checkToken(event.uniIdToken)`.
    "checkToken",
];

/// `global.member` paths that hold the verified caller (thinkjs sets `think.userId` in the
/// base controller after checking the token).
pub const IDENTITY_GLOBALS: &[(&str, &str)] = &[("think", "userId"), ("think", "user")];

/// The platform's context object of a cloud function: `cloud.getWXContext()` (`WeChat`),
/// `cloud.getCloudContext()`; its members below are the caller, injected by the platform.
pub const PLATFORM_CONTEXT_CALLS: &[&str] = &["getWXContext", "getCloudContext"];
pub const PLATFORM_IDENTITY_MEMBERS: &[&str] = &[
    "OPENID",
    "UNIONID",
    "FROM_OPENID",
    "FROM_UNIONID",
    "openid",
    "openId",
];

/// The member of a cloud function's `event` the platform fills in (`event.userInfo.openId`).
pub const EVENT_PLATFORM_MEMBER: &str = "userInfo";

/// Calls that keep their argument's (or receiver's) provenance: coercions and string
/// methods. `parseInt(event.id)` is still the client's id.
pub const PASS_THROUGH_FUNCTIONS: &[&str] = &[
    "parseInt",
    "parseFloat",
    "Number",
    "String",
    "BigInt",
    "decodeURIComponent",
    "ObjectId",
    "ObjectID",
];
pub const PASS_THROUGH_METHODS: &[&str] = &[
    "trim",
    "toString",
    "toLowerCase",
    "toUpperCase",
    "toFixed",
    "valueOf",
    "parse",
    "ObjectId",
    // String and array transforms keep whose values they are (`ids.split(',')`,
    // `prices.split(',').map(Number)`).
    "split",
    "map",
    "filter",
    "slice",
    "concat",
    "join",
    "replace",
    "substring",
    "substr",
];

/// How a record-access call is shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Update,
    Remove,
    Add,
}

/// Where a terminal call finds its selector and its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Args {
    /// Selector and data come from earlier links of the chain (`doc(id)`, `where({...})`);
    /// the call's own first argument is the data (`update({data})`, `update(values)`).
    Chain,
    /// `Model.findByPk(id)`, `findById(id)`, `findOne(filter)`, `deleteOne(filter)`,
    /// `destroy({ where })`: the first argument selects.
    First,
    /// `Model.update(values, { where })` (sequelize), `updateOne(filter, update)` (mongoose):
    /// the selector is `where` of the second argument, or the first argument itself
    /// (`filter_first`).
    DataThenWhere,
    FilterThenData,
    /// egg-mysql `app.mysql.update('table', row)` / `delete('table', where)` /
    /// `get('table', where)`: the table name, then the row or the selector.
    TableThenSelector,
}

/// Terminal methods of record accesses: method, operation, where the selector is.
pub const ACCESS_METHODS: &[(&str, Op, Args)] = &[
    ("get", Op::Read, Args::Chain),
    ("find", Op::Read, Args::Chain),
    ("select", Op::Read, Args::Chain),
    ("first", Op::Read, Args::Chain),
    ("update", Op::Update, Args::Chain),
    ("set", Op::Update, Args::Chain),
    ("increment", Op::Update, Args::Chain),
    ("decrement", Op::Update, Args::Chain),
    ("remove", Op::Remove, Args::Chain),
    ("delete", Op::Remove, Args::Chain),
    ("del", Op::Remove, Args::Chain),
    ("add", Op::Add, Args::Chain),
    ("insert", Op::Add, Args::Chain),
    ("findByPk", Op::Read, Args::First),
    ("findById", Op::Read, Args::First),
    ("findOne", Op::Read, Args::First),
    ("findAll", Op::Read, Args::First),
    ("findAndCountAll", Op::Read, Args::First),
    ("destroy", Op::Remove, Args::First),
    ("deleteOne", Op::Remove, Args::First),
    ("deleteMany", Op::Remove, Args::First),
    ("findByIdAndDelete", Op::Remove, Args::First),
    ("findByIdAndRemove", Op::Remove, Args::First),
    ("findOneAndDelete", Op::Remove, Args::First),
    ("findOneAndRemove", Op::Remove, Args::First),
    ("updateOne", Op::Update, Args::FilterThenData),
    ("updateMany", Op::Update, Args::FilterThenData),
    ("findByIdAndUpdate", Op::Update, Args::FilterThenData),
    ("findOneAndUpdate", Op::Update, Args::FilterThenData),
    ("create", Op::Add, Args::First),
    ("insertOne", Op::Add, Args::First),
];

/// Sequelize's static `Model.update(values, { where })`: the data first.
pub const DATA_THEN_WHERE: &[&str] = &["update"];

/// Chain methods that, called on a model class, take their selector as the first argument
/// (sequelize v4 `Model.find({ where })`, mongoose `Model.find(filter)`).
pub const MODEL_SELECTOR_FIRST: &[&str] = &["find", "select", "first", "delete", "remove"];

/// Functions that, called with a table name, start a query builder (`knex('orders')`, the
/// `mysql('orders')` knex instance of the wafer2 template, `db('orders')`). Names containing
/// `knex` count too.
pub const TABLE_FUNCTIONS: &[&str] = &["db", "mysql", "knex"];

/// Links of a chain that select the records (`doc(id)`, `where({...})`).
pub const SELECTOR_LINKS: &[&str] = &["doc", "where", "whereIn", "andWhere", "match"];

/// Links that name the collection or table: `db.collection('orders')`,
/// `this.model('cart')`, `knex('orders')` / `db.table('orders')`, uniCloud's
/// `db.collection('orders')`.
pub const COLLECTION_LINKS: &[&str] = &["collection", "model", "table", "from", "into"];

/// Roots of model objects: `ctx.model.Order.findByPk`, `app.model.Order`, `this.app.mysql`.
pub const MODEL_CONTAINERS: &[&str] = &["model", "models", "mysql"];

/// The fields a record's owner is stored under. A selector that sets one of them to the
/// caller's identity ties the records to the caller.
pub const OWNER_FIELDS: &[&str] = &[
    "_openid",
    "openid",
    "openId",
    "open_id",
    "user_id",
    "userId",
    "uid",
    "owner",
    "ownerId",
    "owner_id",
    "creator",
    "member_id",
    "memberId",
    "author",
    "authorId",
    "buyer",
    "buyerId",
];

/// Words in a collection name that say its records are a person's own: reads of them by a
/// client-chosen id leak personal data. Reads of other collections (goods, articles,
/// categories) are public catalogue reads and not reported.
pub const PERSONAL_COLLECTION_WORDS: &[&str] = &[
    "order",
    "address",
    "addr",
    "user",
    "member",
    "cart",
    "message",
    "msg",
    "pay",
    "profile",
    "account",
    "booking",
    "reserv",
    "appoint",
    "contact",
    "wallet",
    "balance",
    "collect",
    "favor",
    "footprint",
    "history",
    "diary",
    "note",
    "save",
    "record",
    "customer",
    "player",
];

/// Words in a collection name that say its records are the operator's: staff accounts, the
/// catalogue and its prices, settings. Writes to them are privileged operations.
pub const PRIVILEGED_COLLECTION_WORDS: &[&str] = &[
    "admin",
    "staff",
    "manager",
    "mgmt",
    "employee",
    "goods",
    "product",
    "price",
    "sku",
    "category",
    "banner",
    "notice",
    "config",
    "setting",
    "role",
    "permission",
    "shop",
    "store",
    "merchant",
    "coupon",
    "stock",
    "menu",
    "dish",
];

/// Words of fields holding a password.
pub const PASSWORD_WORDS: &[&str] = &["password", "passwd", "pwd"];

/// Words of fields whose value is money or worth money (balances, points, stock, prices).
pub const VALUE_FIELD_WORDS: &[&str] = &[
    "balance",
    "credit",
    "coin",
    "gold",
    "money",
    "point",
    "score",
    "stock",
    "amount",
    "integral",
    "bonus",
    "reward",
    "prize",
    "wallet",
    "cash",
    "deposit",
    "inventory",
    "fee",
    "price",
    "intransit",
    "quota",
    "vip",
    "level",
    "total",
];

/// Words of fields that are a user's stored value (balances, points, scores): written from the
/// client's input, the client chooses its own worth.
pub const STORED_VALUE_WORDS: &[&str] = &[
    "balance", "credit", "coin", "gold", "money", "point", "score", "integral", "bonus", "wallet",
    "cash", "deposit",
];

/// Words of collections whose records are users' values (scores, rankings, wallets).
pub const VALUE_COLLECTION_WORDS: &[&str] = &[
    "score",
    "rank",
    "leaderboard",
    "wallet",
    "balance",
    "point",
    "account",
    "user",
    "member",
];

/// Fields of a payment request or an order that carry the amount.
pub const AMOUNT_FIELDS: &[&str] = &[
    "totalFee",
    "total_fee",
    "totalAmount",
    "total_amount",
    "amount",
    "total",
    "price",
    "payPrice",
    "pay_price",
    "totalPrice",
    "total_price",
    "money",
    "orderPrice",
    "order_price",
    "actual_price",
    "actualPrice",
    "goodsPrice",
    "goods_price",
    "allPrice",
    "allprice",
    "all_price",
];

/// Payment APIs that create a payment for an amount: the method, and whether the receiver
/// must look like a payment client (`cloudPay`, `wxpay`, `tenpay`, `pay`) for generic names.
pub const PAY_METHODS: &[(&str, bool)] = &[
    ("unifiedOrder", false),
    ("unifiedorder", false),
    ("transactions_jsapi", false),
    ("transactions_native", false),
    ("transactions_app", false),
    ("getPayParams", false),
    ("getPayParamsByMini", false),
    ("createPayment", false),
    ("createOrder", true),
    ("order", true),
];

/// Fields of an order that say where it stands: whoever writes them marks it paid, shipped or
/// refunded.
pub const ORDER_STATE_FIELDS: &[&str] = &[
    "status",
    "state",
    "orderStatus",
    "order_status",
    "payStatus",
    "pay_status",
    "payState",
    "pay_state",
    "isPaid",
    "is_paid",
    "paid",
    "isPay",
    "is_pay",
];

/// Words of collection names that hold orders and payments.
pub const ORDER_COLLECTION_WORDS: &[&str] = &[
    "order",
    "pay",
    "bill",
    "trade",
    "registration",
    "enroll",
    "ticket",
];

/// Refunds: privileged whatever the arguments.
pub const REFUND_METHODS: &[&str] = &["refund", "refunds", "createRefund"];

/// Payment SDKs by module: a module that imports one holds a payment client, so its
/// `refund(...)` calls are refunds whatever the client is named (`api.refund(...)` on a
/// `new tenpay(...)`).
pub const PAYMENT_MODULES: &[&str] = &[
    "tenpay",
    "wechatpay-node-v3",
    "wechatpay-axios-plugin",
    "wxpay-v3",
    "weixin-pay",
    "wxpay",
    "node-wxpay",
    "wx-pay",
    "alipay-sdk",
    "egg-tenpay",
];

/// Calls that send mail or SMS (nodemailer, Tencent Cloud and Alibaba Cloud SMS, uniCloud).
pub const SEND_METHODS: &[&str] = &[
    "sendMail",
    "sendmail",
    "sendSms",
    "SendSms",
    "sendSMS",
    "SendSMS",
    "sendBatchSms",
    "SendBatchSms",
];

/// Calls that send SMS with positional arguments: (method, recipient argument, content
/// argument). qcloudsms's `sendWithParam(nationCode, phone, templateId, params, sign)`.
pub const SEND_POSITIONAL: &[(&str, usize, usize)] = &[("sendWithParam", 1, 3)];

/// Keys of a message's recipient.
pub const RECIPIENT_KEYS: &[&str] = &[
    "to",
    "cc",
    "bcc",
    "phone",
    "mobile",
    "phoneNumber",
    "phoneNumbers",
    "PhoneNumberSet",
    "PhoneNumbers",
    "PhoneNumberJson",
];

/// Keys of a message's content (a template's parameters for SMS).
pub const CONTENT_KEYS: &[&str] = &[
    "html",
    "text",
    "subject",
    "content",
    "message",
    "body",
    "TemplateParamSet",
    "TemplateParam",
    "TemplateParamJson",
    "templateParam",
    "data",
];

/// Calls that verify a payment notification (its signature, or its state with the payment
/// platform).
pub const VERIFY_METHODS: &[&str] = &[
    "queryOrder",
    "orderQuery",
    "orderquery",
    "verifySign",
    "checkSign",
    "verifySignature",
    "verifyNotify",
    "verify",
    "validateSign",
    "decipher_gcm",
    "notifyParse",
    "parseNotify",
    "getNotifyData",
    "middlewareForExpress",
    "middleware",
];

/// Fields of a payment notification (WeChat Pay / cloud pay callbacks).
pub const NOTIFY_FIELDS: &[&str] = &[
    "outTradeNo",
    "out_trade_no",
    "transactionId",
    "transaction_id",
    "returnCode",
    "return_code",
    "resultCode",
    "result_code",
    "refundFee",
    "refund_fee",
    "refundId",
    "refund_id",
    "successTime",
];

/// Words in a cloud function's name that say it is a payment notification.
pub const NOTIFY_NAME_WORDS: &[&str] = &[
    "paycallback",
    "refundcallback",
    "pay_callback",
    "refund_callback",
    "notify",
    "paymentnotice",
    "paynotice",
    "refundnotice",
];

/// Words of a callee (`got`, `axios.post`, `ctx.curl`, `request`) that make an outgoing HTTP
/// request to another service.
pub const HTTP_CLIENT_WORDS: &[&str] = &[
    "got",
    "axios",
    "request",
    "fetch",
    "curl",
    "superagent",
    "needle",
    "urllib",
    "httpclient",
];

/// Words of a request's URL or options that say it logs in to the other service
/// (`/api/account/login`, `loginMethod: 'unionid'`, `/oauth/token`).
pub const LOGIN_WORDS: &[&str] = &[
    "login",
    "signin",
    "sign_in",
    "oauth",
    "/token",
    "authenticate",
];

/// Keys of a user's identity at the platform or another service (`unionid`, `openid`,
/// `userId`), compared lower-cased with `_` removed.
pub const IDENTITY_KEYS: &[&str] = &[
    "openid",
    "unionid",
    "userid",
    "uid",
    "memberid",
    "accountid",
    "customerid",
];

/// Keys of a login request that prove who the user is (a password, a one-time code, a
/// platform login code): a login with one of them is the user's own, not an identity taken on
/// the client's word.
pub const PROOF_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "code",
    "jscode",
    "captcha",
    "smscode",
    "verifycode",
    "otp",
    "ticket",
    "encrypteddata",
];

/// Endings of names of a quantity the buyer chooses (`num`, `number`, `buyNum`,
/// `goods_count`, `quantity`), compared lower-cased with `_` removed.
pub const QUANTITY_ENDINGS: &[&str] = &["num", "number", "count", "counts", "quantity", "qty"];

/// Words that make a name ending like a quantity something else: a phone or card number, an
/// order number, a counter of views or likes, a page size.
pub const NOT_QUANTITY_WORDS: &[&str] = &[
    "phone", "mobile", "tel", "card", "order", "serial", "page", "id", "account", "view", "like",
    "comment", "read", "click", "visit", "fav", "collect", "share", "follow", "retry", "try",
    "login", "error", "fail", "sign", "code", "room", "seat", "table", "desk", "idcard",
    "discount",
];

/// Words of collections whose records hold the quantities a buyer chose (carts, orders). The
/// catalogue (goods, products, their stock) is written by the operator, whose numbers are
/// not a buyer's; stock changed by a buyer's number is an increment.
pub const QUANTITY_COLLECTION_WORDS: &[&str] = &["cart", "order", "trade", "basket"];

/// Words of a factor that makes a quantity a price (`goods.retail_price * number`).
pub const PRICE_WORDS: &[&str] = &["price", "fee", "cost"];

/// Validator methods that give a number a lower bound (joi `.min(1)`, `.positive()`,
/// validator.js `isInt(s, { min: 1 })` is read from its options).
pub const LOWER_BOUND_METHODS: &[&str] = &[
    "min",
    "positive",
    "isPositive",
    "gt",
    "greater",
    "greaterThan",
];

/// Text of a module that declares a lower bound on a request field (class-validator
/// decorators on a DTO, schema options).
pub const LOWER_BOUND_DECLARATIONS: &[&str] = &["@Min(", "@IsPositive(", "minimum:"];

/// Whether a name (`buyNum`, `goods_number`, `count`) is a quantity.
pub fn is_quantity_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['_', '-'], "");
    QUANTITY_ENDINGS.iter().any(|e| n.ends_with(e))
        && !NOT_QUANTITY_WORDS.iter().any(|w| n.contains(w))
}

/// Words of properties and calls that check the caller's role: `user.role === 'admin'`,
/// `isAdmin(OPENID)`, `checkPermission(...)`.
pub const ROLE_WORDS: &[&str] = &[
    "role",
    "admin",
    "permission",
    "permit",
    "manager",
    "staff",
    "privilege",
    "level",
    "isowner",
    "owner",
];

/// Words of route middleware that checks a role (`requireAdmin`, `checkPermission`); an
/// authentication middleware (`auth`, `jwt()`) only says who the caller is.
pub const ROLE_MIDDLEWARE_WORDS: &[&str] = &[
    "admin",
    "role",
    "permission",
    "permit",
    "staff",
    "manager",
    "privilege",
];

/// Words of functions that check the caller (a call with the identity as argument is a check).
pub const CHECK_CALL_WORDS: &[&str] = &[
    "check",
    "verify",
    "auth",
    "permission",
    "admin",
    "role",
    "owner",
    "allow",
    "can",
    "assert",
    "guard",
    "ensure",
];

/// Words of folders holding the operator's back office: handlers there act on every user's
/// records by design, and their flaw, when there is one, is a missing role check.
/// (`backend` is not one: projects name their whole server side so.)
pub const ADMIN_PATH_WORDS: &[&str] = &["admin", "manage", "dashboard", "cms"];

/// Whether `name`, lower-cased, contains one of `words`.
pub fn has_word(name: &str, words: &[&str]) -> bool {
    let lower = name.to_ascii_lowercase();
    words.iter().any(|w| lower.contains(w))
}
